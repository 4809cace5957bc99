using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>
/// Several <c>ferry serve</c> processes on loopback forming one cluster: free ports, one data directory each, the
/// same voter list and secret; helpers to kill, pause and restart nodes and to wait for what the cluster reports.
/// Every wait is bounded and says what it waited for, so a loaded machine slows the tests but does not break them.
/// </summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root;
    private readonly List<ClusterNodeProcess> _nodes;
    private readonly string _voters;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private ClusterHarness(string root, List<ClusterNodeProcess> nodes, FaultNetwork? network, string secret, string voters,
        IReadOnlyDictionary<string, string> environment)
    {
        _root = root;
        Secret = secret;
        _nodes = nodes;
        Network = network;
        _voters = voters;
        _environment = environment;
    }

    public IReadOnlyList<ClusterNodeProcess> Nodes => _nodes;

    /// <summary>The cluster secret every node is started with (<c>FERRY_CLUSTER__SECRET</c>).</summary>
    public string Secret { get; }

    /// <summary>The proxies between the nodes, when started with <c>proxied</c>; null otherwise.</summary>
    public FaultNetwork? Network { get; }

    public ClusterNodeProcess Node(int nodeId) => Nodes.First(n => n.NodeId == nodeId);

    public IEnumerable<ClusterNodeProcess> Running => Nodes.Where(n => n.IsRunning);

    public string BootstrapServers => string.Join(',', Running.Select(n => n.BootstrapServers));

    /// <param name="environment">Extra settings for every node (FERRY_... variables), e.g. shorter timeouts.</param>
    /// <param name="running">How many of the voters to start (the first ones); the others can be started later. Null: all.</param>
    /// <param name="proxied">
    /// Put a <see cref="FaultNetwork"/> proxy in front of every port peers reach a node at (Raft, Kafka, HTTP): the
    /// voter list and the advertised addresses name the proxies, the nodes bind elsewhere (<c>--cluster-listen</c>).
    /// </param>
    /// <param name="adminLogin">The user and password the harness reads <c>/api/cluster</c> with, when <paramref name="environment"/> declares users.</param>
    /// <param name="kafkaScheme">The security protocol of every node's one Kafka listener (<c>SASL_SSL</c>: give the TLS and user settings in <paramref name="environment"/>).</param>
    public static async Task<ClusterHarness> StartAsync(int size = 3, IReadOnlyDictionary<string, string>? environment = null, int? running = null,
        bool proxied = false, string kafkaScheme = "PLAINTEXT", (string User, string Password)? adminLogin = null)
    {
        string root = Path.Combine(Path.GetTempPath(), "ferry-cluster-" + Guid.NewGuid().ToString("N"));
        string secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        // Chosen together, so that no two are the same port (a port freed by one probe is often the next one's).
        var free = FreePorts(4 * size);
        var listenPorts = free.Take(size).ToList();
        List<ClusterNodeProcess> nodes = [];
        var network = proxied ? new FaultNetwork(() => nodes.Where(n => n.ProcessId is not null && n.IsRunning).Select(n => (n.NodeId, n.ProcessId!.Value))) : null;
        var raftPorts = network is null ? listenPorts : listenPorts.Select((port, i) => network.AddProxy(i + 1, port, free)).ToList();
        string voters = string.Join(',', raftPorts.Select((port, i) => $"{i + 1}@127.0.0.1:{port}"));
        nodes.AddRange(raftPorts.Select((port, i) => new ClusterNodeProcess(i + 1, Path.Combine(root, $"node{i + 1}"), port, voters, secret,
            environment ?? new Dictionary<string, string>(), (free[size + 3 * i], free[size + 3 * i + 1], free[size + 3 * i + 2]))
        {
            RaftListenPort = listenPorts[i],
            KafkaScheme = kafkaScheme,
            AdminLogin = adminLogin,
        }));
        if (network is not null)
        {
            foreach (var node in nodes)
            {
                node.KafkaAdvertisedPort = network.AddProxy(node.NodeId, node.KafkaPort, free);
                node.HttpAdvertisedPort = network.AddProxy(node.NodeId, node.HttpPort, free);
            }
        }
        var harness = new ClusterHarness(root, nodes, network, secret, voters, environment ?? new Dictionary<string, string>());
        try
        {
            var started = nodes.Take(running ?? size).ToList();
            await Task.WhenAll(started.Select(n => n.StartAsync()));
            await harness.WaitUntilAsync("every node lists every started node alive", async () =>
            {
                foreach (var node in started)
                {
                    var status = await StatusAsync(node);
                    if (status is null || status["nodes"]!.AsArray().Count(n => n!["alive"]!.GetValue<bool>()) != started.Count) return false;
                }
                return true;
            });
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
        return harness;
    }

    /// <summary>
    /// A broker-only node: <paramref name="nodeId"/> is not in the voter list, it joins through <paramref name="join"/>
    /// (default: every voter's HTTP address). Started unless <paramref name="start"/> is false; a second one with an
    /// id already added gets its own data directory and ports (a duplicate process).
    /// </summary>
    public async Task<ClusterNodeProcess> AddBrokerOnlyAsync(int nodeId, string? join = "", bool start = true)
    {
        var ports = FreePorts(3);
        var node = new ClusterNodeProcess(nodeId, Path.Combine(_root, $"node{nodeId}-{_nodes.Count}"), 0, _voters, Secret, _environment,
            (ports[0], ports[1], ports[2]))
        {
            Join = join == "" ? string.Join(',', _nodes.Where(n => n.Join is null).Select(n => $"127.0.0.1:{n.HttpAdvertisedPort}")) : join,
        };
        _nodes.Add(node);
        if (start) await node.StartAsync();
        return node;
    }

    /// <summary>Distinct free ports below the ephemeral range (see <see cref="Ferry.Tests.FerryProcess.FreePort"/>).</summary>
    private static List<int> FreePorts(int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count) ports.Add(Ferry.Tests.FerryProcess.FreePort());
        return [.. ports];
    }

    /// <summary><c>GET /api/cluster</c> of a node, or null if it does not answer.</summary>
    public static async Task<JsonObject?> StatusAsync(ClusterNodeProcess node)
    {
        if (!node.IsRunning) return null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{node.Http}/api/cluster");
            // Once a node has users, its admin API wants one (a monitoring tag is enough to read).
            if (node.AdminLogin is var (user, password))
                request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password)));
            using var response = await Http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonNode>())?.AsObject();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Partition <paramref name="partition"/> of <paramref name="topic"/> as <paramref name="node"/> reports it (its own view), or null.</summary>
    public static async Task<(int Leader, int Epoch, int[] Isr)?> PartitionAsync(ClusterNodeProcess node, string topic, int partition = 0)
    {
        if (await StatusAsync(node) is not { } status) return null;
        foreach (var p in status["partitions"]!.AsArray())
        {
            if (p!["topic"]!.GetValue<string>() == topic && p["partition"]!.GetValue<int>() == partition)
                return (p["leader"]!.GetValue<int>(), p["leaderEpoch"]!.GetValue<int>(), p["isr"]!.AsArray().Select(i => i!.GetValue<int>()).Order().ToArray());
        }
        return null;
    }

    /// <summary>The metadata leader as the running nodes (or <paramref name="nodes"/>) report it, once they agree; -1 if they do not.</summary>
    public async Task<int> ControllerAsync(IEnumerable<ClusterNodeProcess>? nodes = null)
    {
        var ids = new HashSet<int>();
        foreach (var node in nodes ?? Running)
        {
            if (await StatusAsync(node) is not { } status) return -1;
            ids.Add(status["controllerId"]!.GetValue<int>());
        }
        return ids.Count == 1 ? ids.Single() : -1;
    }

    public async Task WaitUntilAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Timed out waiting until {what}.\n{Logs()}");
    }

    public string Logs() => string.Join("\n", Nodes.Select(n => $"--- node {n.NodeId} ---\n{Tail(n.Output, 40)}"))
        + (Network is null ? "" : "\n--- network ---\n" + Network.Events());

    private static string Tail(string output, int lines) => string.Join('\n', output.Split('\n').TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
        if (Network is not null) await Network.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A killed process may still be releasing a file; the temp directory is cleaned by the system later.
        }
    }
}
