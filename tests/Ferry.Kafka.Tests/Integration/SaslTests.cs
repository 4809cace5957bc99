using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Kafka SASL (KIP-152): PLAIN and SCRAM-SHA-256/512 on SASL_SSL and SASL_PLAINTEXT listeners, with real clients and raw exchanges.</summary>
public sealed class SaslTests : IAsyncLifetime
{
    private const string User = "alice";
    private const string Password = "alice-s3cret";
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private FerryServer _server = null!;
    private int _saslSsl;
    private int _saslPlain;

    public async ValueTask InitializeAsync()
    {
        _saslSsl = FerryServer.FreePort();
        _saslPlain = FerryServer.FreePort();
        _server = await FerryServer.StartAsync(new()
        {
            ["Listeners:Kafka"] = $"SASL_SSL://127.0.0.1:{_saslSsl},SASL_PLAINTEXT://127.0.0.1:{_saslPlain}",
            ["Tls:CertificateFile"] = _certificates.ServerCertificateFile,
            ["Tls:KeyFile"] = _certificates.ServerKeyFile,
            ["Users:0:Name"] = User,
            ["Users:0:Password"] = Password,
            ["Users:0:Tags:0"] = "administrator",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
    }

    private void UseSaslSsl(ClientConfig config, SaslMechanism mechanism, string user = User, string password = Password)
    {
        config.BootstrapServers = $"127.0.0.1:{_saslSsl}";
        config.SecurityProtocol = SecurityProtocol.SaslSsl;
        config.SslCaLocation = _certificates.CaFile;
        config.SaslMechanism = mechanism;
        config.SaslUsername = user;
        config.SaslPassword = password;
    }

    [Theory]
    [InlineData(SaslMechanism.ScramSha512)]
    [InlineData(SaslMechanism.ScramSha256)]
    [InlineData(SaslMechanism.Plain)]
    public async Task SaslSsl_Confluent_ProducesAndConsumes(SaslMechanism mechanism)
    {
        string topic = "sasl-" + mechanism;
        using (var producer = Clients.Producer(_server, c => UseSaslSsl(c, mechanism)))
        {
            for (int i = 0; i < 5; i++) await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = "v" + i });
        }
        using var consumer = Clients.Consumer(_server, c => UseSaslSsl(c, mechanism));
        consumer.Subscribe(topic);
        var read = Clients.ConsumeExactly(consumer, 5);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "v" + i), read.Select(r => r.Message.Value));
        consumer.Commit(read[^1]);
    }

    [Fact]
    public async Task SaslSsl_WrongPassword_ConfluentReportsAuthenticationFailure()
    {
        var errors = new List<Error>();
        var config = new ProducerConfig { MessageTimeoutMs = 10_000 };
        UseSaslSsl(config, SaslMechanism.ScramSha512, password: "wrong");
        using var producer = new ProducerBuilder<string, string>(config).SetErrorHandler((_, e) => { lock (errors) errors.Add(e); }).Build();
        await Assert.ThrowsAnyAsync<ProduceException<string, string>>(() => producer.ProduceAsync("denied", new Message<string, string> { Value = "x" }));
        lock (errors) Assert.Contains(errors, e => e.Code is ErrorCode.Local_Authentication or ErrorCode.SaslAuthenticationFailed);
    }

    [Theory]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("PLAIN")]
    public async Task Kcat_SaslSsl_ProducesAndConsumes(string mechanism)
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (.ci/apt-packages lists it).");
        string[] sasl = ["-b", $"127.0.0.1:{_saslSsl}", "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + _certificates.CaFile,
            "-X", "sasl.mechanisms=" + mechanism, "-X", "sasl.username=" + User, "-X", "sasl.password=" + Password];
        string topic = "kcat-sasl-" + mechanism;
        var produced = await Kcat.RunAsync("one\ntwo\n", [.. sasl, "-t", topic, "-P", "-X", "acks=all"]);
        Assert.True(produced.Code == 0, produced.Error);
        var consumed = await Kcat.RunAsync("", [.. sasl, "-t", topic, "-C", "-o", "beginning", "-e", "-f", "%s\n"]);
        Assert.True(consumed.Code == 0, consumed.Error);
        Assert.Equal(["one", "two"], consumed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Plain_WrongPassword_IsSaslAuthenticationFailed_AndClosed()
    {
        using var client = await RawKafkaClient.ConnectAsync(_saslPlain);
        var handshake = await client.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "PLAIN" });
        Assert.Equal(ErrorCodes.None, handshake.ErrorCode);
        Assert.Contains("SCRAM-SHA-512", handshake.Mechanisms);
        var auth = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
            new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes($"\0{User}\0not-the-password") });
        Assert.Equal(ErrorCodes.SaslAuthenticationFailed, auth.ErrorCode);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Scram_RawExchange_Succeeds_AndServerSignatureVerifies()
    {
        using var client = await RawKafkaClient.ConnectAsync(_saslPlain);
        var (final, expectedServerSignature) = await ScramAsync(client, forgeNonce: false);
        Assert.Equal(ErrorCodes.None, final.ErrorCode);
        Assert.Equal("v=" + expectedServerSignature, Encoding.UTF8.GetString(final.AuthBytes));
        var metadata = await client.SendAsync<MetadataResponse>(ApiKeys.Metadata, 9, new MetadataRequest { Topics = [] });
        Assert.Single(metadata.Brokers);
    }

    [Fact]
    public async Task Scram_ForgedNonce_IsRefused()
    {
        // CVE-2024-56128 class: a client-final whose nonce is not the one the server sent, with a proof that is
        // otherwise right for the messages as sent, must not authenticate.
        using var client = await RawKafkaClient.ConnectAsync(_saslPlain);
        var (final, _) = await ScramAsync(client, forgeNonce: true);
        Assert.Equal(ErrorCodes.SaslAuthenticationFailed, final.ErrorCode);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>An RFC 5802 client for SCRAM-SHA-512 over SaslHandshake/SaslAuthenticate.</summary>
    private static async Task<(SaslAuthenticateResponse Final, string ServerSignature)> ScramAsync(RawKafkaClient client, bool forgeNonce)
    {
        await client.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "SCRAM-SHA-512" });
        string clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        string clientFirstBare = $"n={User},r={clientNonce}";
        var first = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
            new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("n,," + clientFirstBare) });
        Assert.Equal(ErrorCodes.None, first.ErrorCode);
        string serverFirst = Encoding.UTF8.GetString(first.AuthBytes);
        var fields = serverFirst.Split(',').ToDictionary(f => f[..1], f => f[2..]);
        Assert.StartsWith(clientNonce, fields["r"]);
        string nonce = forgeNonce ? clientNonce + "forged" : fields["r"];
        byte[] salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(Password), Convert.FromBase64String(fields["s"]), int.Parse(fields["i"]), HashAlgorithmName.SHA512, 64);
        byte[] clientKey = HMACSHA512.HashData(salted, "Client Key"u8);
        string withoutProof = $"c=biws,r={nonce}";
        byte[] authMessage = Encoding.UTF8.GetBytes(clientFirstBare + "," + serverFirst + "," + withoutProof);
        byte[] signature = HMACSHA512.HashData(SHA512.HashData(clientKey), authMessage);
        byte[] proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        string serverSignature = Convert.ToBase64String(HMACSHA512.HashData(HMACSHA512.HashData(salted, "Server Key"u8), authMessage));
        var final = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
            new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof)) });
        return (final, serverSignature);
    }

    [Fact]
    public async Task BeforeAuthentication_GiantSaslAuthenticate_IsClosedWithoutWaitingForIt()
    {
        // 50 MB is under the listener's request limit (100 MiB) but far over what an unauthenticated client may send:
        // the broker closes on the length alone instead of buffering what follows.
        using var client = await RawKafkaClient.ConnectAsync(_saslPlain);
        await client.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "PLAIN" });
        var header = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(header, 50_000_000);
        BinaryPrimitives.WriteInt16BigEndian(header.AsSpan(4), ApiKeys.SaslAuthenticate);
        BinaryPrimitives.WriteInt16BigEndian(header.AsSpan(6), 2);
        await client.WriteRawAsync(header);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task BeforeAuthentication_OtherRequests_CloseTheConnection()
    {
        using var client = await RawKafkaClient.ConnectAsync(_saslPlain);
        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync<MetadataResponse>(ApiKeys.Metadata, 9, new MetadataRequest { Topics = [] }, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AlterAndDescribeUserScramCredentials_CreateALoginForANewUser()
    {
        var config = new AdminClientConfig();
        UseSaslSsl(config, SaslMechanism.ScramSha512);
        using var admin = new AdminClientBuilder(config).Build();
        await admin.AlterUserScramCredentialsAsync([new UserScramCredentialUpsertion
        {
            User = "bob",
            ScramCredentialInfo = new ScramCredentialInfo { Mechanism = ScramMechanism.ScramSha256, Iterations = 8192 },
            Password = Encoding.UTF8.GetBytes("bob-pass"),
        }]);
        var described = await admin.DescribeUserScramCredentialsAsync(["bob"]);
        var info = Assert.Single(Assert.Single(described.UserScramCredentialsDescriptions).ScramCredentialInfos);
        Assert.Equal(ScramMechanism.ScramSha256, info.Mechanism);
        Assert.Equal(8192, info.Iterations);

        var bobConfig = new AdminClientConfig();
        UseSaslSsl(bobConfig, SaslMechanism.ScramSha256, "bob", "bob-pass");
        using var bob = new AdminClientBuilder(bobConfig).Build();
        Assert.NotEmpty(bob.GetMetadata(TimeSpan.FromSeconds(10)).Brokers);
        // bob has no tags: he may not change credentials.
        await Assert.ThrowsAnyAsync<KafkaException>(() => bob.AlterUserScramCredentialsAsync([new UserScramCredentialDeletion { User = User, Mechanism = ScramMechanism.ScramSha512 }]));
    }
}
