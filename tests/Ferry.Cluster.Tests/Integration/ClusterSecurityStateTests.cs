using System.Net;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;
using RabbitMQ.Client;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Users, Kafka ACLs, vhosts and AMQP permissions live in the metadata quorum: made on one node, they hold on every
/// other (SCRAM-SHA-512 logins, TOPIC_AUTHORIZATION_FAILED, AMQP 403), and a node killed and restarted replays them,
/// changes made while it was down included.
/// </summary>
public sealed class ClusterSecurityStateTests(ClusterSecurityStateTests.AuthorizingCluster fixture) : IClassFixture<ClusterSecurityStateTests.AuthorizingCluster>
{
    private const string Root = "root";
    private const string RootPassword = "root-password";
    private readonly ClusterHarness _cluster = fixture.Cluster;

    /// <summary>SASL_PLAINTEXT listeners, authorization on, one configured administrator.</summary>
    public sealed class AuthorizingCluster : IAsyncLifetime
    {
        public ClusterHarness Cluster { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Librdkafka.EnsureLoaded();
            Cluster = await ClusterHarness.StartAsync(environment: new Dictionary<string, string>
            {
                ["FERRY_SECURITY__AUTHORIZATION"] = "true",
                ["FERRY_USERS__0__NAME"] = Root,
                ["FERRY_USERS__0__PASSWORD"] = RootPassword,
                ["FERRY_USERS__0__TAGS__0"] = "administrator",
            }, kafkaScheme: "SASL_PLAINTEXT", adminLogin: (Root, RootPassword));
        }

        public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
    }

    private static async Task<HttpStatusCode> AdminAsync(ClusterNodeProcess node, HttpMethod method, string path, string? json = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Http), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Root + ":" + RootPassword)));
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>
    /// Waits until <paramref name="node"/> answers <paramref name="path"/> with <paramref name="expected"/>: a change is
    /// applied on the node that asked before it answers, on the others as soon as they apply the committed record.
    /// </summary>
    private Task AppliedOnAsync(ClusterNodeProcess node, string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        _cluster.WaitUntilAsync($"node {node.NodeId} answers {path} with {expected}", async () => await AdminAsync(node, HttpMethod.Get, path) == expected,
            TimeSpan.FromSeconds(20));

    private static T Sasl<T>(T config, ClusterNodeProcess node, string user, string password) where T : ClientConfig
    {
        config.BootstrapServers = node.BootstrapServers;
        config.SecurityProtocol = SecurityProtocol.SaslPlaintext;
        config.SaslMechanism = SaslMechanism.ScramSha512;
        config.SaslUsername = user;
        config.SaslPassword = password;
        return config;
    }

    /// <summary>Authenticates as the user on that node alone: a metadata request answered is a SCRAM-SHA-512 login accepted.</summary>
    private static bool LogsIn(ClusterNodeProcess node, string user, string password)
    {
        var config = Sasl(new AdminClientConfig(), node, user, password);
        using var admin = new AdminClientBuilder(config).Build();
        try
        {
            admin.GetMetadata(TimeSpan.FromSeconds(10));
            return true;
        }
        catch (KafkaException)
        {
            return false;
        }
    }

    /// <summary>Produces one record to the partition (its leader is <paramref name="node"/>); the error code, None when stored.</summary>
    private static async Task<ErrorCode> ProduceAsync(ClusterNodeProcess node, string user, string password, string topic, int partition)
    {
        var config = Sasl(new ProducerConfig { Acks = Acks.All, MessageTimeoutMs = 10_000, LingerMs = 0 }, node, user, password);
        using var producer = new ProducerBuilder<Null, string>(config).Build();
        try
        {
            await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<Null, string> { Value = "v" });
            return ErrorCode.NoError;
        }
        catch (ProduceException<Null, string> e)
        {
            return e.Error.Code;
        }
    }

    [Fact]
    public async Task UserAndAclMadeOnOneNode_HoldOnTheOthers()
    {
        const string user = "writer", password = "writer-password", topic = "acl-guarded";
        var (node1, node2, node3) = (_cluster.Node(1), _cluster.Node(2), _cluster.Node(3));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/users/" + user, $$"""{"password": "{{password}}", "tags": ""}"""));
        await AppliedOnAsync(node2, "/api/users/" + user);
        await AppliedOnAsync(node3, "/api/users/" + user);
        Assert.True(LogsIn(node2, user, password), "the user made on node 1 cannot log in on node 2");
        Assert.True(LogsIn(node3, user, password), "the user made on node 1 cannot log in on node 3");
        Assert.False(LogsIn(node3, user, "wrong-password"));

        // Partition 0 led by node 3, partition 1 by node 1; created through node 2.
        using (var admin = new AdminClientBuilder(Sasl(new AdminClientConfig(), node2, Root, RootPassword)).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification
            {
                Name = topic, NumPartitions = 2, ReplicationFactor = -1, ReplicasAssignments = new Dictionary<int, List<int>> { [0] = [3, 1, 2], [1] = [1, 2, 3] },
            }]);
        }
        await Clients.FullIsrAsync(_cluster, topic);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, await ProduceAsync(node3, user, password, topic, 0));

        var write = new AclBinding
        {
            Pattern = new ResourcePattern { Type = ResourceType.Topic, Name = topic, ResourcePatternType = ResourcePatternType.Literal },
            Entry = new AccessControlEntry { Principal = "User:" + user, Host = "*", Operation = AclOperation.Write, PermissionType = AclPermissionType.Allow },
        };
        using (var admin = new AdminClientBuilder(Sasl(new AdminClientConfig(), node1, Root, RootPassword)).Build())
            await admin.CreateAclsAsync([write]);
        // The admin client sends CreateAcls to a broker of its choice; that one answers once it applied the ACL, and
        // every other node applies the committed record as soon as the quorum leader tells it the entry is committed.
        await _cluster.WaitUntilAsync("node 3 lets the ACL made on node 1 write", async () =>
            await ProduceAsync(node3, user, password, topic, 0) == ErrorCode.NoError, TimeSpan.FromSeconds(20));
        await _cluster.WaitUntilAsync("node 1 lets the ACL made on node 1 write", async () =>
            await ProduceAsync(node1, user, password, topic, 1) == ErrorCode.NoError, TimeSpan.FromSeconds(20));

        using (var admin = new AdminClientBuilder(Sasl(new AdminClientConfig(), node3, Root, RootPassword)).Build())
        {
            var deleted = await admin.DeleteAclsAsync([write.ToFilter()]);
            Assert.Single(deleted.Single().AclBindings);
        }
        // The node asked answered once it applied the removal; node 1 applies the same committed record (a moment later at most).
        ErrorCode last = ErrorCode.NoError;
        await _cluster.WaitUntilAsync("node 1 refuses the write whose ACL node 3 deleted", async () =>
            (last = await ProduceAsync(node1, user, password, topic, 1)) == ErrorCode.TopicAuthorizationFailed, TimeSpan.FromSeconds(20));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, last);
    }

    private static ConnectionFactory Amqp(ClusterNodeProcess node, string vhost, string user, string password) => new()
    {
        HostName = "127.0.0.1", Port = node.AmqpPort, VirtualHost = vhost, UserName = user, Password = password, AutomaticRecoveryEnabled = false,
    };

    [Fact]
    public async Task VhostAndPermissionMadeOnOneNode_HoldForAmqpOnAnother()
    {
        const string vhost = "orders-vh", user = "amqp-user", password = "amqp-password";
        var (node1, node2) = (_cluster.Node(1), _cluster.Node(2));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/vhosts/" + vhost));
        Assert.Equal(HttpStatusCode.NoContent, await AdminAsync(node2, HttpMethod.Put, "/api/vhosts/" + vhost));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/users/" + user, $$"""{"password": "{{password}}"}"""));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, $"/api/permissions/{vhost}/{user}",
            """{"configure": ".*", "write": "^allowed$", "read": ".*"}"""));
        await AppliedOnAsync(node2, $"/api/permissions/{vhost}/{user}");

        await using var connection = await Amqp(node2, vhost, user, password).CreateConnectionAsync();
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.ExchangeDeclareAsync("allowed", ExchangeType.Fanout);
            await channel.BasicPublishAsync("allowed", "", Encoding.UTF8.GetBytes("in"));
        }
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            // The refusal closes the channel: the publish is never confirmed.
            await Assert.ThrowsAnyAsync<Exception>(async () => await channel.BasicPublishAsync("amq.direct", "k", Encoding.UTF8.GetBytes("out")));
            Assert.Equal((ushort)403, channel.CloseReason?.ReplyCode);
            Assert.Contains("write access to exchange 'amq.direct'", channel.CloseReason!.ReplyText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KilledNode_ReplaysTheState_AndWhatChangedWhileItWasDown()
    {
        var (node1, node2) = (_cluster.Node(1), _cluster.Node(2));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/users/before", """{"password": "before-pw"}"""));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/vhosts/kept"));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/vhosts/doomed"));
        await AppliedOnAsync(node2, "/api/vhosts/doomed");

        await node2.KillAsync();
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/users/while-down", """{"password": "down-pw"}"""));
        Assert.Equal(HttpStatusCode.NoContent, await AdminAsync(node1, HttpMethod.Delete, "/api/users/before"));
        Assert.Equal(HttpStatusCode.NoContent, await AdminAsync(node1, HttpMethod.Delete, "/api/vhosts/doomed"));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/vhosts/born-while-down"));
        Assert.Equal(HttpStatusCode.Created, await AdminAsync(node1, HttpMethod.Put, "/api/permissions/born-while-down/while-down",
            """{"configure": ".*", "write": ".*", "read": ".*"}"""));

        await node2.StartAsync();
        await _cluster.WaitUntilAsync("node 2 has the vhost made while it was down and not the one deleted", async () =>
            await AdminAsync(node2, HttpMethod.Get, "/api/vhosts/born-while-down") == HttpStatusCode.OK
            && await AdminAsync(node2, HttpMethod.Get, "/api/vhosts/doomed") == HttpStatusCode.NotFound, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, await AdminAsync(node2, HttpMethod.Get, "/api/vhosts/kept"));
        Assert.Equal(HttpStatusCode.NotFound, await AdminAsync(node2, HttpMethod.Get, "/api/users/before"));
        Assert.True(LogsIn(node2, "while-down", "down-pw"), "the user made while node 2 was down cannot log in on it");
        Assert.False(LogsIn(node2, "before", "before-pw"));
        await using var connection = await Amqp(node2, "born-while-down", "while-down", "down-pw").CreateConnectionAsync();
        Assert.True(connection.IsOpen);
    }
}
