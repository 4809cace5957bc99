using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ferry.Tests;

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

    private ClusterHarness(string root, IReadOnlyList<ClusterNodeProcess> nodes)
    {
        _root = root;
        Nodes = nodes;
    }

    public IReadOnlyList<ClusterNodeProcess> Nodes { get; }

    public ClusterNodeProcess Node(int nodeId) => Nodes.First(n => n.NodeId == nodeId);

    public IEnumerable<ClusterNodeProcess> Running => Nodes.Where(n => n.IsRunning);

    public string BootstrapServers => string.Join(',', Running.Select(n => n.BootstrapServers));

    /// <param name="environment">Extra settings for every node (FERRY_... variables), e.g. shorter timeouts.</param>
    /// <param name="running">How many of the voters to start (the first ones); the others can be started later. Null: all.</param>
    public static async Task<ClusterHarness> StartAsync(int size = 3, IReadOnlyDictionary<string, string>? environment = null, int? running = null)
    {
        string root = Path.Combine(Path.GetTempPath(), "ferry-cluster-" + Guid.NewGuid().ToString("N"));
        var raftPorts = Enumerable.Range(0, size).Select(_ => FerryProcess.FreePort()).ToList();
        string voters = string.Join(',', raftPorts.Select((port, i) => $"{i + 1}@127.0.0.1:{port}"));
        string secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var nodes = raftPorts.Select((port, i) => new ClusterNodeProcess(i + 1, Path.Combine(root, $"node{i + 1}"), port, voters, secret,
            environment ?? new Dictionary<string, string>())).ToList();
        var harness = new ClusterHarness(root, nodes);
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

    /// <summary><c>GET /api/cluster</c> of a node, or null if it does not answer.</summary>
    public static async Task<JsonObject?> StatusAsync(ClusterNodeProcess node)
    {
        if (!node.IsRunning) return null;
        try
        {
            return (await Http.GetFromJsonAsync<JsonNode>($"{node.Http}/api/cluster"))?.AsObject();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The metadata leader as the running nodes report it, once they agree; -1 if they do not.</summary>
    public async Task<int> ControllerAsync()
    {
        var ids = new HashSet<int>();
        foreach (var node in Running)
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

    public string Logs() => string.Join("\n", Nodes.Select(n => $"--- node {n.NodeId} ---\n{Tail(n.Output, 40)}"));

    private static string Tail(string output, int lines) => string.Join('\n', output.Split('\n').TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
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
