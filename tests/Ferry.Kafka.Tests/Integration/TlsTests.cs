using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Confluent.Kafka;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Kafka over TLS: SSL listeners beside plaintext ones, mutual TLS, certificate renewal, and TLS spoken to a plaintext port.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private async Task<(FerryServer Server, int Plain, int Ssl)> StartAsync(bool clientCa, Dictionary<string, string?>? extra = null)
    {
        int plain = FerryServer.FreePort(), ssl = FerryServer.FreePort();
        var settings = new Dictionary<string, string?>(extra ?? [])
        {
            ["Listeners:Kafka"] = $"127.0.0.1:{plain},SSL://127.0.0.1:{ssl}",
            ["Tls:CertificateFile"] = _certificates.ServerCertificateFile,
            ["Tls:KeyFile"] = _certificates.ServerKeyFile,
        };
        if (clientCa) settings["Tls:ClientCaFile"] = _certificates.CaFile;
        return (await FerryServer.StartAsync(settings), plain, ssl);
    }

    private void UseSsl(ClientConfig config, int port, bool withCertificate = true)
    {
        config.BootstrapServers = $"127.0.0.1:{port}";
        config.SecurityProtocol = SecurityProtocol.Ssl;
        config.SslCaLocation = _certificates.CaFile;
        if (withCertificate)
        {
            config.SslCertificateLocation = _certificates.ClientCertificateFile;
            config.SslKeyLocation = _certificates.ClientKeyFile;
        }
    }

    [Fact]
    public async Task Ssl_MutualTls_ConfluentProducesAndConsumes_BesidePlaintext()
    {
        var (server, plain, ssl) = await StartAsync(clientCa: true);
        await using var _ = server;
        using (var producer = Clients.Producer(server, c => UseSsl(c, ssl)))
        {
            for (int i = 0; i < 10; i++) await producer.ProduceAsync("tls-topic", new Message<string, string> { Key = "k" + i, Value = "v" + i });
        }
        // The same topic through the plaintext listener, and back through TLS.
        using (var consumer = Clients.Consumer(server, c => c.BootstrapServers = $"127.0.0.1:{plain}"))
        {
            consumer.Subscribe("tls-topic");
            Assert.Equal(10, Clients.ConsumeExactly(consumer, 10).Count);
        }
        using var tlsConsumer = Clients.Consumer(server, c => UseSsl(c, ssl));
        tlsConsumer.Subscribe("tls-topic");
        var read = Clients.ConsumeExactly(tlsConsumer, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => "v" + i), read.Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Ssl_WithClientCa_ClientWithoutCertificate_IsRefused()
    {
        var (server, _, ssl) = await StartAsync(clientCa: true);
        await using var __ = server;
        var config = new AdminClientConfig();
        UseSsl(config, ssl, withCertificate: false);
        using var admin = new AdminClientBuilder(config).Build();
        Assert.ThrowsAny<KafkaException>(() => admin.GetMetadata(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Ssl_OnlyTls12AndLater_AreNegotiated()
    {
        var (server, _, ssl) = await StartAsync(clientCa: false);
        await using var __ = server;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", ssl);
        await using var stream = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => _certificates.IsTrusted(certificate));
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        Assert.True(stream.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, stream.SslProtocol.ToString());
    }

    [Fact]
    public async Task Ssl_CertificateRenewedOnDisk_NewHandshakesGetItWithoutRestart()
    {
        var (server, _, ssl) = await StartAsync(clientCa: false);
        await using var __ = server;
        string first = _certificates.ServerSerial;
        Assert.Equal(first, await ServerSerialAsync(ssl));

        string renewed = _certificates.WriteServer();
        var deadline = Stopwatch.StartNew();
        string seen = first;
        while (seen != renewed && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(200);
            seen = await ServerSerialAsync(ssl);
        }
        Assert.Equal(renewed, seen);

        // And the renewed certificate serves a real client.
        var config = new AdminClientConfig();
        UseSsl(config, ssl);
        using var admin = new AdminClientBuilder(config).Build();
        Assert.NotEmpty(admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers);
    }

    private async Task<string> ServerSerialAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var stream = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => _certificates.IsTrusted(certificate));
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        return ((X509Certificate2)stream.RemoteCertificate!).SerialNumber;
    }

    [Fact]
    public async Task PlaintextListener_TlsClientHello_IsClosedAtOnce()
    {
        // With the largest request limit there is, the hello's first bytes read as a 369 MB frame length: without
        // the check the broker would wait for (and buffer) that much, and the client would hang.
        var (server, plain, _) = await StartAsync(clientCa: false, new() { ["Kafka:MaxRequestBytes"] = int.MaxValue.ToString() });
        await using var __ = server;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", plain);
        await using var stream = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => _certificates.IsTrusted(certificate));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var handshake = stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, timeout.Token);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        Assert.False(timeout.IsCancellationRequested, "the broker did not close the connection: " + error);
    }

    [Fact]
    public async Task Kcat_OverMutualTls_ProducesAndConsumes()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (.ci/apt-packages lists it).");
        var (server, _, ssl) = await StartAsync(clientCa: true);
        await using var __ = server;
        string[] tls = ["-b", $"127.0.0.1:{ssl}", "-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + _certificates.CaFile,
            "-X", "ssl.certificate.location=" + _certificates.ClientCertificateFile, "-X", "ssl.key.location=" + _certificates.ClientKeyFile];
        var produced = await Kcat.RunAsync("a\nb\nc\n", [.. tls, "-t", "kcat-tls", "-P", "-X", "acks=all"]);
        Assert.True(produced.Code == 0, produced.Error);
        var consumed = await Kcat.RunAsync("", [.. tls, "-t", "kcat-tls", "-C", "-o", "beginning", "-e", "-f", "%s\n"]);
        Assert.True(consumed.Code == 0, consumed.Error);
        Assert.Equal(["a", "b", "c"], consumed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
