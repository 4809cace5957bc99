using System.Diagnostics;
using System.Globalization;
using Ferry.Tests;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>
/// One node of a test cluster: a real <c>ferry serve</c> process with its own ports (kept across restarts, as the
/// voter list names them) and data directory, that can be SIGKILLed, SIGSTOPped and SIGCONTed, and started again.
/// </summary>
public sealed class ClusterNodeProcess : IAsyncDisposable
{
    private readonly List<string> _output = [];
    private readonly string _voters;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;

    internal ClusterNodeProcess(int nodeId, string dataDirectory, int raftPort, string voters, string secret, IReadOnlyDictionary<string, string> environment,
        (int Kafka, int Http, int Amqp) ports)
    {
        NodeId = nodeId;
        DataDirectory = dataDirectory;
        RaftPort = raftPort;
        RaftListenPort = raftPort;
        _voters = voters;
        Secret = secret;
        _environment = environment;
        (KafkaPort, HttpPort, AmqpPort) = ports;
        KafkaAdvertisedPort = KafkaPort;
        HttpAdvertisedPort = HttpPort;
    }

    public int NodeId { get; }

    /// <summary>A broker-only node's <c>--join</c> (its id is not in the voter list); null: none given.</summary>
    public string? Join { get; set; }

    /// <summary>The cluster secret this node starts with: the cluster's, unless a test gives it another one.</summary>
    public string Secret { get; set; }

    /// <summary>Who the harness reads the node's admin API as; null while the node has no users.</summary>
    public (string User, string Password)? AdminLogin { get; internal init; }

    /// <summary>The security protocol of its Kafka listener, as Kafka names it.</summary>
    public string KafkaScheme { get; internal init; } = "PLAINTEXT";
    public string DataDirectory { get; }

    /// <summary>This node's voter entry: the address its peers dial (a proxy's when the cluster runs behind a <see cref="FaultNetwork"/>).</summary>
    public int RaftPort { get; }

    /// <summary>Where its inter-node listener binds (<c>--cluster-listen</c>); the voter entry unless proxied.</summary>
    public int RaftListenPort { get; internal init; }

    public int KafkaPort { get; }

    /// <summary>The Kafka port the node registers for peers and clients (<c>Kafka:AdvertisedPort</c>).</summary>
    public int KafkaAdvertisedPort { get; internal set; }

    public int HttpPort { get; }

    /// <summary>Where peers forward controller requests to it (<c>Cluster:AdvertisedHttp</c>).</summary>
    public int HttpAdvertisedPort { get; internal set; }

    public int AmqpPort { get; }

    /// <summary>The Kafka address clients bootstrap from: the advertised one, so that client traffic takes the same path as metadata gives.</summary>
    public string BootstrapServers => $"127.0.0.1:{KafkaAdvertisedPort}";
    public string Http => $"http://127.0.0.1:{HttpPort}";
    public bool IsRunning => _process is { HasExited: false };
    public int? ProcessId => _process?.Id;
    public string Output { get { lock (_output) return string.Join('\n', _output); } }

    /// <summary>Starts the process and waits until its HTTP listener answers (which it does once it has joined the quorum's log).</summary>
    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException($"Node {NodeId} is running.");
        var info = FerryProcess.StartInfo("serve", "--data", DataDirectory, "--node-id", NodeId.ToString(CultureInfo.InvariantCulture),
            "--voters", _voters, "--kafka", $"{KafkaScheme}://127.0.0.1:{KafkaPort}", "--http", $"127.0.0.1:{HttpPort}", "--amqp", $"127.0.0.1:{AmqpPort}");
        info.Environment["FERRY_CLUSTER__SECRET"] = Secret;
        if (Join is not null) info.ArgumentList.Add("--join=" + Join);
        if (RaftListenPort != RaftPort) info.ArgumentList.Add("--cluster-listen=127.0.0.1:" + RaftListenPort.ToString(CultureInfo.InvariantCulture));
        if (KafkaAdvertisedPort != KafkaPort)
        {
            info.Environment["FERRY_KAFKA__ADVERTISEDHOST"] = "127.0.0.1";
            info.Environment["FERRY_KAFKA__ADVERTISEDPORT"] = KafkaAdvertisedPort.ToString(CultureInfo.InvariantCulture);
        }
        if (HttpAdvertisedPort != HttpPort) info.Environment["FERRY_CLUSTER__ADVERTISEDHTTP"] = "127.0.0.1:" + HttpAdvertisedPort.ToString(CultureInfo.InvariantCulture);
        foreach (var (name, value) in _environment) info.Environment[name] = value;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"node {NodeId} exited with {process.ExitCode}:\n{Output}");
            try
            {
                if ((await http.GetAsync($"{Http}/health")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"node {NodeId} did not start:\n{Output}");
    }

    private void Record(string? line)
    {
        if (line is null) return;
        lock (_output) _output.Add(line);
    }

    /// <summary>SIGKILL: no flush, no goodbye; waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process) return;
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: a graceful stop (leaderships handed over first); waits until the process is gone.</summary>
    public async Task TerminateAsync()
    {
        if (_process is not { HasExited: false } process) return;
        Signal("TERM");
        await process.WaitForExitAsync();
    }

    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (_process is not { HasExited: false } process) return;
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                Signal("CONT");
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
    }
}
