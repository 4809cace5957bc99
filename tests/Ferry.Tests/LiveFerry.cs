namespace Ferry.Tests;

/// <summary>One broker process shared by the tests of a class: starting one costs about a second.</summary>
public sealed class LiveFerry : IAsyncLifetime
{
    private FerryProcess? _process;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "ferry-ops-" + Guid.NewGuid().ToString("N"));

    internal FerryProcess Process => _process ?? throw new InvalidOperationException("not started");

    public string Server => Process.Server;

    public HttpClient Http { get; } = new();

    public async ValueTask InitializeAsync()
    {
        _process = await FerryProcess.StartAsync(DataDirectory);
        Http.BaseAddress = new Uri(Server);
    }

    /// <summary>Runs a client command against this broker.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) =>
        FerryProcess.RunAsync(null, [.. args, "--server", Server]);

    public Task<(int ExitCode, string Stdout, string Stderr)> RunWithInputAsync(string input, params string[] args) =>
        FerryProcess.RunAsync(input, [.. args, "--server", Server]);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_process is not null) await _process.DisposeAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
