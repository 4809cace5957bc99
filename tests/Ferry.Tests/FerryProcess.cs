using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Tests;

/// <summary>
/// The real <c>ferry</c> executable run as a child process: ferry.dll next to the tests, or, when
/// <c>FERRY_BINARY</c> names one, a published binary (CI runs these tests a second time against the
/// ahead-of-time compiled <c>ferry</c> that <c>dotnet publish</c> yields, the one users run).
/// </summary>
internal sealed class FerryProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private FerryProcess(Process process, int httpPort, int kafkaPort, int amqpPort)
    {
        _process = process;
        HttpPort = httpPort;
        KafkaPort = kafkaPort;
        AmqpPort = amqpPort;
    }

    public int HttpPort { get; }
    public int KafkaPort { get; }
    public int AmqpPort { get; }
    public string BootstrapServers => $"127.0.0.1:{KafkaPort}";
    public string Output { get { lock (_output) return string.Join('\n', _output); } }
    public Process Process => _process;

    /// <summary>The process's resident memory (VmRSS), what bounded-memory tests measure.</summary>
    public long ResidentBytes
    {
        get
        {
            foreach (string line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
            throw new InvalidOperationException($"no VmRSS for process {_process.Id}");
        }
    }

    private const int FirstTestPort = 20_000, TestPorts = 12_000;
    // Where this test process hands out ports from: a stretch of its own (from its process id), so that the test
    // assemblies `dotnet test` runs side by side rarely probe the same ports.
    // (In long: process ids go up to 4,194,304, and times 997 that overflows an int into negative ports.)
    private static int s_nextPort = (int)((long)Environment.ProcessId * 997 % TestPorts);

    /// <summary>
    /// A free port below Linux's ephemeral range (32768 and up), so that no outgoing connection of another test can
    /// take it as its local port between this check and ferry's bind; and never one this process handed out before,
    /// so that tests running in parallel (or a node restarted on its old port) cannot be given the same one while
    /// its owner is still starting.
    /// </summary>
    public static int FreePort()
    {
        for (int i = 0; i < TestPorts; i++)
        {
            int port = FirstTestPort + (int)((uint)Interlocked.Increment(ref s_nextPort) % TestPorts);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next.
            }
        }
        throw new InvalidOperationException($"No free port in {FirstTestPort}-{FirstTestPort + TestPorts - 1}.");
    }

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        string? published = Environment.GetEnvironmentVariable("FERRY_BINARY");
        var info = new ProcessStartInfo(string.IsNullOrEmpty(published) ? "dotnet" : published)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (string.IsNullOrEmpty(published)) info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ferry.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        return info;
    }

    public static async Task<(int ExitCode, string Output)> RunToEndAsync(params string[] args)
    {
        using var process = Process.Start(StartInfo(args))!;
        string stdout = await process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout + stderr);
    }

    /// <summary>Runs ferry with <paramref name="input"/> on stdin; stdout and stderr apart, as scripts see them.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string? input, params string[] args) =>
        RunWithEnvironmentAsync(input, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="RunAsync"/>, with environment variables set (FERRY_USER, FERRY_PASSWORD).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithEnvironmentAsync(string? input, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = StartInfo(args);
        info.RedirectStandardInput = true;
        info.Environment.Remove("FERRY_SERVER");
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        if (input is not null) await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    public string Server => $"http://127.0.0.1:{HttpPort}";

    public static Task<FerryProcess> StartAsync(string dataDir, params string[] extra) => StartOnFreshPortsAsync(dataDir, null, null, extra);

    /// <summary>As <see cref="StartAsync"/> with more environment variables (a fault layer preloaded, settings).</summary>
    public static Task<FerryProcess> StartWithEnvironmentAsync(string dataDir, IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        StartOnFreshPortsAsync(dataDir, null, null, extra, environment);

    /// <summary>As <see cref="StartAsync"/>, under <paramref name="openFiles"/> as the process's descriptor limit (prlimit).</summary>
    public static Task<FerryProcess> StartWithOpenFileLimitAsync(string dataDir, int openFiles, params string[] extra) =>
        StartOnFreshPortsAsync(dataDir, null, openFiles, extra);

    /// <summary>As <see cref="StartAsync"/> with the Kafka listener on <paramref name="kafka"/>: a restart where clients already connected expect it.</summary>
    public static Task<FerryProcess> StartOnPortAsync(string dataDir, int kafka, params string[] extra) =>
        StartOnFreshPortsAsync(dataDir, kafka, null, extra);

    private static async Task<FerryProcess> StartOnFreshPortsAsync(string dataDir, int? kafka, int? openFiles, string[] extra,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        // A port found free can be taken before ferry binds it (by another test's listener or as the local port of
        // an outgoing connection): start again on fresh ports when that is why ferry stopped.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnPortsAsync(dataDir, kafka ?? FreePort(), FreePort(), FreePort(), extra, openFiles, environment);
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    private static async Task<FerryProcess> StartOnPortsAsync(string dataDir, int kafka, int http, int amqp, string[] extra, int? openFiles = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] args = ["serve", "--data", dataDir, "--http", $"127.0.0.1:{http}",
            "--kafka", $"127.0.0.1:{kafka}", "--amqp", $"127.0.0.1:{amqp}", .. extra];
        var info = StartInfo(args);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        if (openFiles is { } limit)
        {
            string[] command = [info.FileName, .. info.ArgumentList];
            info.FileName = "prlimit";
            info.ArgumentList.Clear();
            foreach (var arg in (string[])[$"--nofile={limit}:{limit}", "--", .. command]) info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var ferry = new FerryProcess(process, http, kafka, amqp);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (ferry._output) ferry._output.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (ferry._output) ferry._output.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ferry.WaitUntilHealthyAsync();
        }
        catch
        {
            await ferry.DisposeAsync();
            throw;
        }
        return ferry;
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"ferry exited with {_process.ExitCode}:\n{Output}");
            try
            {
                var response = await http.GetAsync($"http://127.0.0.1:{HttpPort}/health");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet: the listener binds once start-up has finished.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"ferry did not become healthy:\n{Output}");
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
