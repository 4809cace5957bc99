using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Kafka ACLs with authorization on (deny unless granted): CreateAcls, DescribeAcls and DeleteAcls through Confluent's
/// admin client, and allow/deny on produce, consume, group and admin operations, for SASL users and a client certificate.
/// </summary>
public sealed class AclTests : IAsyncLifetime
{
    private const string Admin = "root";
    private const string Alice = "alice";
    private const string Bob = "bob";
    private const string Password = "pw-0123456789";
    // Kafka's TRANSACTIONAL_ID resource type (5), which Confluent's enum does not name.
    private const ResourceType TransactionalIdResource = (ResourceType)5;
    private readonly TestCertificates _certificates = TestCertificates.Create("acl-client");
    private FerryServer _server = null!;
    private int _sasl;
    private int _ssl;

    public async ValueTask InitializeAsync()
    {
        _sasl = FerryServer.FreePort();
        _ssl = FerryServer.FreePort();
        _server = await FerryServer.StartAsync(new()
        {
            ["Listeners:Kafka"] = $"SASL_PLAINTEXT://127.0.0.1:{_sasl},SSL://127.0.0.1:{_ssl}",
            ["Tls:CertificateFile"] = _certificates.ServerCertificateFile,
            ["Tls:KeyFile"] = _certificates.ServerKeyFile,
            ["Tls:ClientCaFile"] = _certificates.CaFile,
            ["Security:Authorization"] = "true",
            ["Users:0:Name"] = Admin,
            ["Users:0:Password"] = Password,
            ["Users:0:Tags:0"] = "administrator",
            ["Users:1:Name"] = Alice,
            ["Users:1:Password"] = Password,
            ["Users:2:Name"] = Bob,
            ["Users:2:Password"] = Password,
        });
        using var admin = AdminAs(Admin);
        await admin.CreateAclsAsync(
        [
            Allow(ResourceType.Topic, "alice-", ResourcePatternType.Prefixed, Alice, AclOperation.All),
            Allow(ResourceType.Group, "alice-group", ResourcePatternType.Literal, Alice, AclOperation.Read),
            Allow(TransactionalIdResource, "alice-tx", ResourcePatternType.Literal, Alice, AclOperation.Write),
            Allow(TransactionalIdResource, "alice-tx", ResourcePatternType.Literal, Alice, AclOperation.Describe),
            Allow(ResourceType.Topic, "shared", ResourcePatternType.Literal, Bob, AclOperation.Read),
            Allow(ResourceType.Topic, "alice-secret", ResourcePatternType.Literal, Bob, AclOperation.Describe),
            new AclBinding
            {
                Pattern = new ResourcePattern { Type = ResourceType.Topic, Name = "alice-secret", ResourcePatternType = ResourcePatternType.Literal },
                Entry = new AccessControlEntry { Principal = "User:" + Alice, Host = "*", Operation = AclOperation.Write, PermissionType = AclPermissionType.Deny },
            },
            // Kafka's default SSL principal: the subject in RFC 2253 form. WRITE to produce, CREATE for auto-creation.
            Allow(ResourceType.Topic, "cert-", ResourcePatternType.Prefixed, "CN=acl-client,O=Ferry Tests", AclOperation.Write),
            Allow(ResourceType.Topic, "cert-", ResourcePatternType.Prefixed, "CN=acl-client,O=Ferry Tests", AclOperation.Create),
        ]);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "shared", NumPartitions = 1 }, new TopicSpecification { Name = "alice-secret", NumPartitions = 1 }]);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
    }

    private static AclBinding Allow(ResourceType type, string name, ResourcePatternType pattern, string user, AclOperation operation) => new()
    {
        Pattern = new ResourcePattern { Type = type, Name = name, ResourcePatternType = pattern },
        Entry = new AccessControlEntry { Principal = "User:" + user, Host = "*", Operation = operation, PermissionType = AclPermissionType.Allow },
    };

    private void Sasl(ClientConfig config, string user)
    {
        config.BootstrapServers = $"127.0.0.1:{_sasl}";
        config.SecurityProtocol = SecurityProtocol.SaslPlaintext;
        config.SaslMechanism = SaslMechanism.ScramSha256;
        config.SaslUsername = user;
        config.SaslPassword = Password;
    }

    private IAdminClient AdminAs(string user)
    {
        var config = new AdminClientConfig();
        Sasl(config, user);
        return new AdminClientBuilder(config).Build();
    }

    [Fact]
    public async Task DescribeAndDeleteAcls_RoundTripWithFilters()
    {
        using var admin = AdminAs(Admin);
        var matching = await admin.DescribeAclsAsync(new AclBindingFilter
        {
            PatternFilter = new ResourcePatternFilter { Type = ResourceType.Topic, Name = "alice-secret", ResourcePatternType = ResourcePatternType.Match },
            EntryFilter = new AccessControlEntryFilter { Operation = AclOperation.Any, PermissionType = AclPermissionType.Any },
        });
        // MATCH: the literal ACLs on alice-secret and the prefixed alice- one.
        Assert.Equal(3, matching.AclBindings.Count);
        Assert.Contains(matching.AclBindings, b => b.Pattern.ResourcePatternType == ResourcePatternType.Prefixed && b.Pattern.Name == "alice-");
        Assert.Contains(matching.AclBindings, b => b.Entry.PermissionType == AclPermissionType.Deny && b.Entry.Principal == "User:alice");

        var temporary = Allow(ResourceType.Group, "temp-", ResourcePatternType.Prefixed, "carol", AclOperation.Describe);
        await admin.CreateAclsAsync([temporary]);
        var deleted = await admin.DeleteAclsAsync([new AclBindingFilter
        {
            PatternFilter = new ResourcePatternFilter { Type = ResourceType.Any, ResourcePatternType = ResourcePatternType.Any },
            EntryFilter = new AccessControlEntryFilter { Principal = "User:carol", Operation = AclOperation.Any, PermissionType = AclPermissionType.Any },
        }]);
        var removed = Assert.Single(Assert.Single(deleted).AclBindings);
        Assert.Equal("temp-", removed.Pattern.Name);
        var left = await admin.DescribeAclsAsync(new AclBindingFilter
        {
            PatternFilter = new ResourcePatternFilter { Type = ResourceType.Any, ResourcePatternType = ResourcePatternType.Any },
            EntryFilter = new AccessControlEntryFilter { Principal = "User:carol", Operation = AclOperation.Any, PermissionType = AclPermissionType.Any },
        });
        Assert.Empty(left.AclBindings);
    }

    [Fact]
    public async Task NonAdministrator_MayNotManageAcls()
    {
        using var admin = AdminAs(Bob);
        var refused = await Assert.ThrowsAsync<CreateAclsException>(() => admin.CreateAclsAsync([Allow(ResourceType.Topic, "*", ResourcePatternType.Literal, Bob, AclOperation.All)]));
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, Assert.Single(refused.Results).Error.Code);
    }

    [Fact]
    public void Transactions_NeedWriteOnTheTransactionalId_AndOnEachTopic_AndReadOnTheGroup()
    {
        ProducerConfig Transactional(string id)
        {
            var config = new ProducerConfig { TransactionalId = id, MessageTimeoutMs = 10_000, TransactionTimeoutMs = 30_000 };
            Sasl(config, Alice);
            return config;
        }

        using (var stranger = new ProducerBuilder<string, string>(Transactional("bob-tx")).Build())
        {
            var refused = Assert.ThrowsAny<KafkaException>(() => stranger.InitTransactions(TimeSpan.FromSeconds(30)));
            Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, refused.Error.Code);
        }

        using var producer = new ProducerBuilder<string, string>(Transactional("alice-tx")).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        // AddPartitionsToTxn for a topic Alice sees but may not write (a DENY WRITE): TOPIC_AUTHORIZATION_FAILED, the
        // transaction can only abort.
        producer.BeginTransaction();
        producer.Produce("alice-secret", new Message<string, string> { Value = "v" });
        var topicDenied = Assert.ThrowsAny<KafkaException>(() => producer.CommitTransaction(TimeSpan.FromSeconds(30)));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, topicDenied.Error.Code);
        producer.AbortTransaction(TimeSpan.FromSeconds(30));

        // AddOffsetsToTxn for a group without READ: GROUP_AUTHORIZATION_FAILED.
        var consumerConfig = new ConsumerConfig { GroupId = "bob-group" };
        Sasl(consumerConfig, Alice);
        using var consumer = new ConsumerBuilder<string, string>(consumerConfig).Build();
        producer.BeginTransaction();
        var groupDenied = Assert.ThrowsAny<KafkaException>(() => producer.SendOffsetsToTransaction(
            [new TopicPartitionOffset("alice-orders", 0, 1)], consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(30)));
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, groupDenied.Error.Code);
        producer.AbortTransaction(TimeSpan.FromSeconds(30));

        // Everything granted: the transaction commits.
        producer.BeginTransaction();
        producer.Produce("alice-txn-out", new Message<string, string> { Value = "v" });
        producer.CommitTransaction(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Produce_AllowedByPrefix_DeniedElsewhere_DenyWinsOverAllow()
    {
        using var producer = Clients.Producer(_server, c => { Sasl(c, Alice); c.MessageTimeoutMs = 10_000; });
        var ok = await producer.ProduceAsync("alice-orders", new Message<string, string> { Value = "v" });
        Assert.Equal(PersistenceStatus.Persisted, ok.Status);

        var denied = await Assert.ThrowsAsync<ProduceException<string, string>>(() => producer.ProduceAsync("shared", new Message<string, string> { Value = "v" }));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, denied.Error.Code);
        // alice-secret: ALL by the prefix, but a literal DENY WRITE wins.
        var deniedByDeny = await Assert.ThrowsAsync<ProduceException<string, string>>(() => producer.ProduceAsync("alice-secret", new Message<string, string> { Value = "v" }));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, deniedByDeny.Error.Code);
    }

    [Fact]
    public async Task Consume_NeedsReadOnTopicAndGroup()
    {
        using (var producer = Clients.Producer(_server, c => Sasl(c, Alice)))
            await producer.ProduceAsync("alice-events", new Message<string, string> { Value = "e1" });

        using (var consumer = Clients.Consumer(_server, c => { Sasl(c, Alice); c.GroupId = "alice-group"; }))
        {
            consumer.Subscribe("alice-events");
            var read = Clients.ConsumeExactly(consumer, 1);
            consumer.Commit(read[0]);
        }

        // bob: READ on the topic "shared" but no group.
        using var bob = Clients.Consumer(_server, c => { Sasl(c, Bob); c.GroupId = "bob-group"; });
        bob.Subscribe("shared");
        var error = Assert.Throws<ConsumeException>(() =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline) bob.Consume(TimeSpan.FromMilliseconds(200));
        });
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, error.Error.Code);
    }

    [Fact]
    public async Task AdminOperations_CreateAndDeleteTopics_Denied_MetadataHidesTopics()
    {
        using var alice = AdminAs(Alice);
        await alice.CreateTopicsAsync([new TopicSpecification { Name = "alice-made", NumPartitions = 1 }]);
        var refused = await Assert.ThrowsAsync<CreateTopicsException>(() => alice.CreateTopicsAsync([new TopicSpecification { Name = "not-hers", NumPartitions = 1 }]));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, Assert.Single(refused.Results).Error.Code);
        var notDeleted = await Assert.ThrowsAsync<DeleteTopicsException>(() => alice.DeleteTopicsAsync(["shared"]));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, Assert.Single(notDeleted.Results).Error.Code);

        using var bob = AdminAs(Bob);
        var seen = bob.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToList();
        // bob may describe "shared" (READ implies DESCRIBE) and "alice-secret"; not alice-made.
        Assert.Contains("shared", seen);
        Assert.Contains("alice-secret", seen);
        Assert.DoesNotContain("alice-made", seen);

        using var root = AdminAs(Admin);
        Assert.Contains("alice-made", root.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic));
        var cluster = await bob.DescribeClusterAsync(new DescribeClusterOptions { IncludeAuthorizedOperations = true });
        Assert.Empty(cluster.AuthorizedOperations ?? []);
        var rootCluster = await root.DescribeClusterAsync(new DescribeClusterOptions { IncludeAuthorizedOperations = true });
        Assert.Contains(AclOperation.Alter, rootCluster.AuthorizedOperations);
    }

    [Fact]
    public async Task SslPrincipal_IsTheCertificateSubject()
    {
        var config = new ProducerConfig
        {
            BootstrapServers = $"127.0.0.1:{_ssl}",
            SecurityProtocol = SecurityProtocol.Ssl,
            SslCaLocation = _certificates.CaFile,
            SslCertificateLocation = _certificates.ClientCertificateFile,
            SslKeyLocation = _certificates.ClientKeyFile,
            MessageTimeoutMs = 10_000,
        };
        using var producer = new ProducerBuilder<string, string>(config).Build();
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync("cert-topic", new Message<string, string> { Value = "v" })).Status);
        var denied = await Assert.ThrowsAsync<ProduceException<string, string>>(() => producer.ProduceAsync("shared", new Message<string, string> { Value = "v" }));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, denied.Error.Code);
    }

    [Fact]
    public async Task Kcat_ProduceDenied_ReportsAuthorizationFailure()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (.ci/apt-packages lists it).");
        string[] sasl = ["-b", $"127.0.0.1:{_sasl}", "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
            "-X", "sasl.username=" + Bob, "-X", "sasl.password=" + Password];
        var produced = await Kcat.RunAsync("x\n", [.. sasl, "-t", "shared", "-P", "-X", "message.timeout.ms=10000"]);
        Assert.NotEqual(0, produced.Code);
        Assert.Contains("authoriz", produced.Error, StringComparison.OrdinalIgnoreCase);
    }
}
