using System.Net;
using System.Text;
using Confluent.Kafka;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// A node that ran alone (users, ACLs, vhosts and permissions in its own files) and is then started clustered
/// imports them once into the metadata quorum: every node serves them.
/// </summary>
public sealed class SecurityImportTests
{
    private const string Root = "root";
    private const string RootPassword = "root-password";

    [Fact]
    public async Task FileStoredSecurityState_OfANodeStartedClustered_IsImportedOnce_ForEveryNode()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(environment: new Dictionary<string, string>
        {
            ["FERRY_USERS__0__NAME"] = Root,
            ["FERRY_USERS__0__PASSWORD"] = RootPassword,
            ["FERRY_USERS__0__TAGS__0"] = "administrator",
        }, running: 0, kafkaScheme: "SASL_PLAINTEXT", adminLogin: (Root, RootPassword));

        // What node 1 kept in its files while it ran on its own.
        var node1 = cluster.Node(1);
        new FileUserStore(node1.DataDirectory).Put(User.Create("legacy", "legacy-pw", [User.Monitoring]));
        var acl = new AclBinding(AclResourceType.Topic, "legacy-", AclPatternType.Prefixed, "User:legacy", "*", AclOperation.Read, AclPermission.Allow);
        new FileAclStore(node1.DataDirectory).Add([acl]);
        Directory.CreateDirectory(Path.Combine(node1.DataDirectory, "amqp"));
        await File.WriteAllTextAsync(Path.Combine(node1.DataDirectory, "amqp", "vhosts.json"), """{"names": ["legacy-vh"]}""");
        new FilePermissionStore(node1.DataDirectory).Put(new VhostPermission("legacy-vh", "legacy", "^$", ".*", ".*"));

        await Task.WhenAll(cluster.Nodes.Select(n => n.StartAsync()));
        var node3 = cluster.Node(3);
        await cluster.WaitUntilAsync("node 3 has node 1's imported permission", async () =>
            await GetAsync(node3, "/api/permissions/legacy-vh/legacy") is (HttpStatusCode.OK, _), TimeSpan.FromSeconds(45));

        var (status, user) = await GetAsync(node3, "/api/users/legacy");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("monitoring", user, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(node3, "/api/vhosts/legacy-vh")).Status);
        var (_, acls) = await GetAsync(node3, "/api/acls");
        Assert.Contains("\"principal\":\"User:legacy\"", acls, StringComparison.Ordinal);
        // The marker is written after the last item (the permission above) is applied: a moment after node 3 serves it.
        await cluster.WaitUntilAsync("node 1 marks its import done", () => Task.FromResult(File.Exists(Path.Combine(node1.DataDirectory, "cluster", "security-imported"))),
            TimeSpan.FromSeconds(10));

        // The imported SCRAM keys are the file's: the password logs in on a node that never had the file.
        var config = new AdminClientConfig
        {
            BootstrapServers = node3.BootstrapServers, SecurityProtocol = SecurityProtocol.SaslPlaintext, SaslMechanism = SaslMechanism.ScramSha512,
            SaslUsername = "legacy", SaslPassword = "legacy-pw",
        };
        using var admin = new AdminClientBuilder(config).Build();
        Assert.NotEmpty(admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers);
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(ClusterNodeProcess node, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Http), Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Root + ":" + RootPassword)));
        try
        {
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException)
        {
            return (HttpStatusCode.ServiceUnavailable, "");
        }
    }
}
