using System.Diagnostics;

namespace Ferry.Tests;

/// <summary>
/// A Node.js client script of the repository (tests/kafkajs, tests/amqplib: real JavaScript clients that .ci/run
/// installs with npm ci), found from the test's output directory and run with node.
/// </summary>
internal static class NodeScript
{
    /// <summary>tests/<paramref name="folder"/> of the repository, or null if it lacks <paramref name="script"/> or its installed <paramref name="package"/>.</summary>
    public static string? InstalledDirectory(string folder, string script, string package)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", folder);
            if (File.Exists(Path.Combine(candidate, script)))
                return Directory.Exists(Path.Combine(candidate, "node_modules", package)) ? candidate : null;
        }
        return null;
    }

    /// <summary>Runs <paramref name="script"/> in <paramref name="directory"/> with <paramref name="arguments"/>; its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string directory, string script, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var node = Process.Start(info)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        await node.WaitForExitAsync(deadline.Token);
        return (node.ExitCode, await output, await error);
    }
}
