using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Ferry.Tests;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>AMQP logins against the user store, amqps, EXTERNAL with a client certificate, and guest held to loopback.</summary>
public sealed class AmqpSecurityTests : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private readonly TestCertificates _certificates = TestCertificates.Create(clientCommonName: "cert-user");
    private FerryServer _server = null!;
    private int _amqps;
    private int _anyAddress;

    public async ValueTask InitializeAsync()
    {
        _amqps = FerryServer.FreePort();
        _anyAddress = FerryServer.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["Listeners:Amqp"] = $"127.0.0.1:{FerryServer.FreePort()},amqps://127.0.0.1:{_amqps},0.0.0.0:{_anyAddress}",
            ["Tls:CertificateFile"] = _certificates.ServerCertificateFile,
            ["Tls:KeyFile"] = _certificates.ServerKeyFile,
            ["Tls:ClientCaFile"] = _certificates.CaFile,
            ["Users:0:Name"] = "alice",
            ["Users:0:Password"] = "alice-pw",
            ["Users:1:Name"] = "cert-user",
            ["Users:1:Password"] = "unused-pw",
        };
        _server = await FerryServer.StartAsync(settings: settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
    }

    private ConnectionFactory Tls(string? user = "alice", string? password = "alice-pw", bool certificate = false)
    {
        var factory = _server.Factory();
        factory.Port = _amqps;
        if (user is not null) factory.UserName = user;
        if (password is not null) factory.Password = password;
        factory.Ssl = new SslOption
        {
            Enabled = true,
            ServerName = "localhost",
            Version = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateValidationCallback = (_, cert, _, _) => _certificates.IsTrusted(cert),
        };
        if (certificate) factory.Ssl.Certs = [_certificates.LoadClientCertificate()];
        return factory;
    }

    private static async Task RoundTripAsync(IConnection connection, string queue)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await channel.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("hello"));
        var got = await channel.BasicGetAsync(queue, autoAck: true);
        Assert.Equal("hello", Encoding.UTF8.GetString(got!.Body.Span));
    }

    [Fact]
    public async Task Amqps_StoredUser_PublishesAndConsumes()
    {
        await using var connection = await Tls(certificate: true).CreateConnectionAsync();
        await RoundTripAsync(connection, "amqps-q");
    }

    [Fact]
    public async Task Amqps_WithoutClientCertificate_IsRefusedByTls()
    {
        await Assert.ThrowsAnyAsync<BrokerUnreachableException>(() => Tls(certificate: false).CreateConnectionAsync());
    }

    [Fact]
    public async Task External_ClientCertificateCommonName_LogsIn()
    {
        var factory = Tls(user: null, password: null, certificate: true);
        factory.AuthMechanisms = [new ExternalMechanismFactory()];
        await using var connection = await factory.CreateConnectionAsync();
        await RoundTripAsync(connection, "external-q");
    }

    [Fact]
    public async Task WrongPassword_Is403AccessRefused_AfterAPause()
    {
        var factory = _server.Factory();
        factory.UserName = "alice";
        factory.Password = "wrong";
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<BrokerUnreachableException>(() => factory.CreateConnectionAsync());
        Assert.IsType<AuthenticationFailureException>(error.InnerException);
        Assert.Contains("ACCESS_REFUSED", error.InnerException!.Message);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(800), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task FromANonLoopbackAddress_GuestIsRefused_OtherUsersAreNot()
    {
        var address = Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (address is null) Assert.Skip("This machine has no non-loopback IPv4 address.");
        var factory = _server.Factory();
        factory.HostName = address.ToString();
        factory.Port = _anyAddress;
        await Assert.ThrowsAnyAsync<BrokerUnreachableException>(() => factory.CreateConnectionAsync());

        factory.UserName = "alice";
        factory.Password = "alice-pw";
        await using var connection = await factory.CreateConnectionAsync();
        await RoundTripAsync(connection, "remote-q");

        // And guest is still welcome from loopback.
        await using var local = await _server.ConnectAsync();
        Assert.True(local.IsOpen);
    }

    [Fact]
    public async Task Pika_OverAmqpsWithClientCertificate_PublishesAndConsumes()
    {
        if (!File.Exists(Python)) Assert.Skip("python3-pika is not installed (.ci/apt-packages lists it).");
        const string script = """
            import pika, ssl, sys
            port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            context = ssl.create_default_context(cafile=ca)
            context.load_cert_chain(cert, key)
            params = pika.ConnectionParameters('127.0.0.1', port, credentials=pika.PlainCredentials('alice', 'alice-pw'),
                ssl_options=pika.SSLOptions(context, 'localhost'))
            connection = pika.BlockingConnection(params)
            channel = connection.channel()
            channel.confirm_delivery()
            channel.queue_declare('pika-tls', durable=True)
            channel.basic_publish('', 'pika-tls', b'over-tls')
            method, props, body = channel.basic_get('pika-tls', auto_ack=True)
            print(body.decode())
            connection.close()
            """;
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-c", script, _amqps.ToString(System.Globalization.CultureInfo.InvariantCulture), _certificates.CaFile,
            _certificates.ClientCertificateFile, _certificates.ClientKeyFile }) info.ArgumentList.Add(arg);
        using var pika = Process.Start(info)!;
        var output = pika.StandardOutput.ReadToEndAsync();
        var error = pika.StandardError.ReadToEndAsync();
        await pika.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(pika.ExitCode == 0, await error);
        Assert.Equal("over-tls", (await output).Trim());
    }
}
