using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Broker.Security;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Tests.Integration;
using Ferry.Peers;
using Ferry.Tests;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// A cluster whose Kafka listeners are SASL_SSL only: the nodes replicate over them as the cluster's peer principal
/// (SCRAM-SHA-512 with keys derived from the cluster secret), real clients produce and consume as a real user, and
/// an ordinary user cannot use the inter-broker APIs.
/// </summary>
public sealed class ClusterSecurityTests(ClusterSecurityTests.SecuredCluster secured) : IClassFixture<ClusterSecurityTests.SecuredCluster>
{
    private const string User = "alice";
    private const string Password = "alice-password";
    private const string Administrator = "root";
    private const string AdministratorPassword = "root-password";
    /// <summary>The inter-broker requests name a topic that does not exist: a served one must not disturb a real partition's replicas.</summary>
    private const string NoTopic = "no-such-topic";
    private readonly TestCertificates _certificates = secured.Certificates;
    private readonly ClusterHarness _cluster = secured.Cluster;

    /// <summary>One SASL_SSL cluster for the tests that only read or add topics of their own; TLS certificate and a user on every node.</summary>
    public sealed class SecuredCluster : IAsyncLifetime
    {
        internal TestCertificates Certificates { get; } = TestCertificates.Create();
        public ClusterHarness Cluster { get; private set; } = null!;

        public Dictionary<string, string> Settings => new()
        {
            ["FERRY_TLS__CERTIFICATEFILE"] = Certificates.ServerCertificateFile,
            ["FERRY_TLS__KEYFILE"] = Certificates.ServerKeyFile,
            ["FERRY_USERS__0__NAME"] = User,
            ["FERRY_USERS__0__PASSWORD"] = Password,
            ["FERRY_USERS__0__TAGS__0"] = "monitoring", // to read the admin API as the harness does; no Kafka rights
            ["FERRY_USERS__1__NAME"] = Administrator,
            ["FERRY_USERS__1__PASSWORD"] = AdministratorPassword,
            ["FERRY_USERS__1__TAGS__0"] = "administrator",
        };

        public async ValueTask InitializeAsync()
        {
            Librdkafka.EnsureLoaded();
            Cluster = await ClusterHarness.StartAsync(environment: Settings, kafkaScheme: "SASL_SSL", adminLogin: (User, Password));
        }

        public async ValueTask DisposeAsync()
        {
            await Cluster.DisposeAsync();
            Certificates.Dispose();
        }
    }

    private void UseSaslSsl(ClientConfig config)
    {
        config.BootstrapServers = _cluster.BootstrapServers;
        config.SecurityProtocol = SecurityProtocol.SaslSsl;
        config.SslCaLocation = _certificates.CaFile;
        config.SaslMechanism = SaslMechanism.ScramSha512;
        config.SaslUsername = User;
        config.SaslPassword = Password;
    }

    private async Task CreateTopicAsync(string topic, int partitions)
    {
        var adminConfig = new AdminClientConfig();
        UseSaslSsl(adminConfig);
        using var admin = new AdminClientBuilder(adminConfig).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 3 }]);
    }

    /// <summary>Reads the topic from the start in a new group until <paramref name="count"/> values arrived or a minute passed.</summary>
    private List<string> Consume(string topic, string group, int count, IsolationLevel isolation)
    {
        var consumerConfig = new ConsumerConfig { GroupId = group, AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false, IsolationLevel = isolation };
        UseSaslSsl(consumerConfig);
        using var consumer = new ConsumerBuilder<Null, string>(consumerConfig).Build();
        consumer.Subscribe(topic);
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (values.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { Message: { } message }) values.Add(message.Value);
        }
        return values;
    }

    [Fact]
    public async Task SaslSslCluster_Replicates_AcksAllProduceAndConsume()
    {
        const string topic = "secured";
        await CreateTopicAsync(topic, 1);
        // All three replicas in sync: the followers fetched from the leader over its SASL_SSL listener.
        await Clients.FullIsrAsync(_cluster, topic);

        var producerConfig = new ProducerConfig { Acks = Acks.All, LingerMs = 0, MessageTimeoutMs = 30_000 };
        UseSaslSsl(producerConfig);
        using (var producer = new ProducerBuilder<Null, string>(producerConfig).Build())
        {
            for (int i = 0; i < 20; i++)
            {
                var delivered = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "m" + i.ToString(CultureInfo.InvariantCulture) });
                Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            }
        }
        // acks=all was answered after the ISR had the records; the ISR is still all three.
        await Clients.FullIsrAsync(_cluster, topic);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => "m" + i.ToString(CultureInfo.InvariantCulture)),
            Consume(topic, "secured-readers", 20, IsolationLevel.ReadUncommitted));
    }

    [Fact]
    public async Task SaslSslCluster_CommitsATransactionAcrossLeadersOnEveryNode()
    {
        // Three partitions whose leaders are spread over the nodes: the coordinator's markers go to the other nodes'
        // SASL_SSL listeners as the peer principal, and read_committed sees the records only once they are written.
        const string topic = "secured-txn";
        await CreateTopicAsync(topic, 3);
        var leaders = new HashSet<int>();
        await _cluster.WaitUntilAsync($"{topic} has three leaders with full ISRs", async () =>
        {
            leaders.Clear();
            for (int partition = 0; partition < 3; partition++)
            {
                if (await ClusterHarness.PartitionAsync(_cluster.Nodes[0], topic, partition) is not { Leader: > 0, Isr.Length: 3 } p) return false;
                leaders.Add(p.Leader);
            }
            return true;
        });
        Assert.True(leaders.Count > 1, "the partitions' leaders are all on one node, so no marker would cross a link");

        var producerConfig = new ProducerConfig { TransactionalId = "secured-transfer", LingerMs = 0, MessageTimeoutMs = 30_000 };
        UseSaslSsl(producerConfig);
        using (var producer = new ProducerBuilder<Null, string>(producerConfig).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(60));
            producer.BeginTransaction();
            for (int partition = 0; partition < 3; partition++)
                await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<Null, string> { Value = "t" + partition.ToString(CultureInfo.InvariantCulture) });
            producer.CommitTransaction(TimeSpan.FromSeconds(60));
        }

        Assert.Equal(["t0", "t1", "t2"], Consume(topic, "secured-txn-readers", 3, IsolationLevel.ReadCommitted).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task OrdinaryUser_ReplicaFetchAndTxnMarkers_AreClusterAuthorizationFailed()
    {
        using var client = await RawKafkaClient.ConnectTlsAsync(_cluster.Nodes[0].KafkaPort, _certificates.IsTrusted);
        await client.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "PLAIN" });
        var auth = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
            new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes($"\0{User}\0{Password}") });
        Assert.Equal(ErrorCodes.None, auth.ErrorCode);

        var fetch = await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, ReplicaFetch(NoTopic));
        Assert.Equal(ErrorCodes.ClusterAuthorizationFailed, fetch.ErrorCode);
        Assert.All(fetch.Responses.SelectMany(t => t.Partitions), p => Assert.Equal(ErrorCodes.ClusterAuthorizationFailed, p.ErrorCode));

        var epoch = await client.SendAsync<OffsetForLeaderEpochResponse>(ApiKeys.OffsetForLeaderEpoch, 4, new OffsetForLeaderEpochRequest
        {
            ReplicaId = 2,
            Topics = [new() { Topic = NoTopic, Partitions = [new() { Partition = 0, CurrentLeaderEpoch = -1, LeaderEpoch = 0 }] }],
        });
        Assert.Equal(ErrorCodes.ClusterAuthorizationFailed, epoch.Topics.Single().Partitions.Single().ErrorCode);

        var markers = await client.SendAsync<WriteTxnMarkersResponse>(ApiKeys.WriteTxnMarkers, 1, new WriteTxnMarkersRequest
        {
            Markers = [new() { ProducerId = 1, ProducerEpoch = 0, TransactionResult = true, CoordinatorEpoch = 0,
                Topics = [new() { Name = NoTopic, PartitionIndexes = [0] }] }],
        });
        Assert.Equal(ErrorCodes.ClusterAuthorizationFailed, markers.Markers.Single().Topics.Single().Partitions.Single().ErrorCode);
    }

    [Fact]
    public async Task PeerPrincipal_OnlyWithTheClusterSecret_MayFetchAsAReplica()
    {
        // Derived from another secret: refused at SASL, as a node started with a wrong secret is.
        using (var impostor = await RawKafkaClient.ConnectTlsAsync(_cluster.Nodes[0].KafkaPort, _certificates.IsTrusted))
            Assert.Equal(ErrorCodes.SaslAuthenticationFailed, await ScramAsPeerAsync(impostor, PeerPrincipal.FromSecret("not-the-secret")));
        // The reserved name is not a user: PLAIN does not know it at all.
        using (var plain = await RawKafkaClient.ConnectTlsAsync(_cluster.Nodes[0].KafkaPort, _certificates.IsTrusted))
        {
            await plain.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "PLAIN" });
            var refused = await plain.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
                new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes($"\0{PeerPrincipal.UserName}\0anything") });
            Assert.Equal(ErrorCodes.SaslAuthenticationFailed, refused.ErrorCode);
        }

        // With the cluster's secret the same exchange succeeds, and a replica fetch is served.
        using var peer = await RawKafkaClient.ConnectTlsAsync(_cluster.Nodes[0].KafkaPort, _certificates.IsTrusted);
        Assert.Equal(ErrorCodes.None, await ScramAsPeerAsync(peer, PeerPrincipal.FromSecret(_cluster.Secret)));
        var fetch = await peer.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, ReplicaFetch(NoTopic));
        Assert.Equal(ErrorCodes.None, fetch.ErrorCode);
        Assert.DoesNotContain(fetch.Responses.SelectMany(t => t.Partitions), p => p.ErrorCode == ErrorCodes.ClusterAuthorizationFailed);
    }

    [Fact]
    public async Task NodeWithAWrongSecret_CannotJoin()
    {
        await using var cluster = await ClusterHarness.StartAsync(environment: secured.Settings, running: 2, kafkaScheme: "SASL_SSL", adminLogin: (User, Password));
        var outsider = cluster.Node(3);
        outsider.Secret = "not-the-secret";
        // It starts and serves on its own, but its quorum links fail TLS (the certificate tag is made with the
        // secret): the others never list it, and it never learns the cluster's topics nor holds a replica of them.
        await outsider.StartAsync();
        var adminConfig = new AdminClientConfig();
        UseSaslSsl(adminConfig);
        adminConfig.BootstrapServers = string.Join(',', cluster.Nodes.Take(2).Select(n => n.BootstrapServers));
        using (var admin = new AdminClientBuilder(adminConfig).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "members-only", NumPartitions = 1, ReplicationFactor = 2 }]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var node in cluster.Nodes.Take(2))
            {
                var status = await ClusterHarness.StatusAsync(node);
                Assert.NotNull(status);
                Assert.DoesNotContain(status["nodes"]!.AsArray(), n => n!["id"]!.GetValue<int>() == 3 && n["alive"]!.GetValue<bool>());
            }
            Assert.NotNull(await ClusterHarness.StatusAsync(outsider));
            Assert.Null(await ClusterHarness.PartitionAsync(outsider, "members-only"));
            await Task.Delay(500);
        }
        Assert.NotNull(await ClusterHarness.PartitionAsync(cluster.Node(1), "members-only"));
    }

    [Fact]
    public async Task PeerPrincipal_IsNotAUser_OfTheAdminApiOrAmqp()
    {
        var node = _cluster.Nodes[0];
        string peerPassword = Encoding.ASCII.GetString(PeerPrincipal.FromSecret(_cluster.Secret).Password);
        using var http = new HttpClient { BaseAddress = new Uri(node.Http) };
        HttpRequestMessage As(HttpMethod method, string path, string user, string password, string? json = null)
        {
            var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
            if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            return request;
        }

        using (var list = await http.SendAsync(As(HttpMethod.Get, "/api/users", Administrator, AdministratorPassword)))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, list.StatusCode);
            string users = await list.Content.ReadAsStringAsync();
            Assert.Contains(User, users, StringComparison.Ordinal);
            Assert.DoesNotContain(PeerPrincipal.UserName, users, StringComparison.Ordinal);
        }
        using (var create = await http.SendAsync(As(HttpMethod.Put, "/api/users/" + PeerPrincipal.UserName, Administrator, AdministratorPassword,
            """{"password": "chosen", "tags": "administrator"}""")))
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, create.StatusCode);
        using (var delete = await http.SendAsync(As(HttpMethod.Delete, "/api/users/" + PeerPrincipal.UserName, Administrator, AdministratorPassword)))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, delete.StatusCode);
        // The secret-derived password opens nothing but the Kafka peer links.
        using (var login = await http.SendAsync(As(HttpMethod.Get, "/api/cluster", PeerPrincipal.UserName, peerPassword)))
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, login.StatusCode);
        var amqp = new RabbitMQ.Client.ConnectionFactory
        {
            HostName = "127.0.0.1", Port = node.AmqpPort, UserName = PeerPrincipal.UserName, Password = peerPassword, AutomaticRecoveryEnabled = false,
        };
        await Assert.ThrowsAnyAsync<RabbitMQ.Client.Exceptions.BrokerUnreachableException>(() => amqp.CreateConnectionAsync());
    }

    [Fact]
    public async Task SslClusterRequiringClientCertificates_Replicates()
    {
        // SSL with --tls-client-ca: every connection must present a certificate the CA issued, the nodes' own links
        // too (each presents its server certificate, which the same CA issued).
        var settings = new Dictionary<string, string>
        {
            ["FERRY_TLS__CERTIFICATEFILE"] = _certificates.ServerCertificateFile,
            ["FERRY_TLS__KEYFILE"] = _certificates.ServerKeyFile,
            ["FERRY_TLS__CLIENTCAFILE"] = _certificates.CaFile,
        };
        await using var cluster = await ClusterHarness.StartAsync(environment: settings, kafkaScheme: "SSL");
        const string topic = "certified";
        using (var admin = new AdminClientBuilder(ClientCertificateConfig(new AdminClientConfig(), cluster)).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        using (var producer = new ProducerBuilder<Null, string>(ClientCertificateConfig(new ProducerConfig { Acks = Acks.All, MessageTimeoutMs = 30_000 }, cluster)).Build())
            Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(topic, new Message<Null, string> { Value = "v" })).Status);
        await Clients.FullIsrAsync(cluster, topic);
    }

    private T ClientCertificateConfig<T>(T config, ClusterHarness cluster) where T : ClientConfig
    {
        config.BootstrapServers = cluster.BootstrapServers;
        config.SecurityProtocol = SecurityProtocol.Ssl;
        config.SslCaLocation = _certificates.CaFile;
        config.SslCertificateLocation = _certificates.ClientCertificateFile;
        config.SslKeyLocation = _certificates.ClientKeyFile;
        return config;
    }

    private static FetchRequest ReplicaFetch(string topic) => new()
    {
        ReplicaId = 2,
        MaxWaitMs = 0,
        MinBytes = 1,
        MaxBytes = 1 << 20,
        SessionEpoch = -1,
        Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, CurrentLeaderEpoch = -1, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
    };

    /// <summary>SCRAM-SHA-512 as the peer principal with <paramref name="principal"/>'s password; the final error code.</summary>
    private static async Task<short> ScramAsPeerAsync(RawKafkaClient client, PeerPrincipal principal)
    {
        await client.SendAsync<SaslHandshakeResponse>(ApiKeys.SaslHandshake, 1, new SaslHandshakeRequest { Mechanism = "SCRAM-SHA-512" });
        var scram = new ScramClient(PeerPrincipal.Mechanism, PeerPrincipal.UserName, Encoding.ASCII.GetString(principal.Password));
        var first = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2, new SaslAuthenticateRequest { AuthBytes = scram.ClientFirst() });
        if (first.ErrorCode != ErrorCodes.None) return first.ErrorCode;
        var final = await client.SendAsync<SaslAuthenticateResponse>(ApiKeys.SaslAuthenticate, 2,
            new SaslAuthenticateRequest { AuthBytes = scram.ClientFinal(first.AuthBytes)! });
        if (final.ErrorCode == ErrorCodes.None) Assert.True(scram.ServerFinalIsValid(final.AuthBytes), "the node's SCRAM signature is wrong");
        return final.ErrorCode;
    }
}
