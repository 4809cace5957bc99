using System.Diagnostics;

namespace Ferry.Kafka.Tests.Integration.PowerCut;

/// <summary>
/// Cuts the power under a ferry process: the data directory runs under the fault layer (durable_shadow.c,
/// preloaded), which keeps a shadow of what completed fsyncs made durable; after a SIGKILL,
/// <see cref="RestoreDurableState"/> rebuilds the directory as a power cut at that moment would leave it:
/// files at their last synced content, names only as their directory was last synced.
/// </summary>
internal sealed class PowerCut
{
    private static readonly Lazy<string> s_library = new(Compile);

    public PowerCut(string dataDirectory)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        ShadowDirectory = DataDirectory + ".durable";
        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(ShadowDirectory);
    }

    public string DataDirectory { get; }

    public string ShadowDirectory { get; }

    /// <summary>Files restored and bytes dropped by the last restore, for the test's figures.</summary>
    public (int Files, long LostBytes) LastRestore { get; private set; }

    /// <summary>The environment that runs a process under the layer.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["LD_PRELOAD"] = s_library.Value,
        ["FERRY_POWERCUT_DIR"] = DataDirectory,
        ["FERRY_POWERCUT_SHADOW"] = ShadowDirectory,
    };

    /// <summary>
    /// Replaces the data directory with its durable state (the process must be dead), then empties the shadow so
    /// that the next process under the layer starts by recording the restored directory as durable.
    /// </summary>
    public void RestoreDurableState()
    {
        long before = DirectoryBytes(DataDirectory);
        string rootRecord = Path.Combine(ShadowDirectory, "root");
        Directory.Delete(DataDirectory, recursive: true);
        Directory.CreateDirectory(DataDirectory);
        int files = 0;
        if (File.Exists(rootRecord)) files = RestoreDirectory(File.ReadAllText(rootRecord).Trim(), DataDirectory);
        LastRestore = (files, before - DirectoryBytes(DataDirectory));
        Directory.Delete(ShadowDirectory, recursive: true);
        Directory.CreateDirectory(ShadowDirectory);
    }

    private int RestoreDirectory(string inode, string target)
    {
        // A directory never synced kept no names: it exists (its parent's entry was synced) but is empty.
        string record = Path.Combine(ShadowDirectory, "dirs", inode);
        if (!File.Exists(record)) return 0;
        int files = 0;
        foreach (var line in File.ReadAllLines(record))
        {
            var parts = line.Split(' ', 3);
            string path = Path.Combine(target, parts[2]);
            if (parts[0] == "d")
            {
                Directory.CreateDirectory(path);
                files += RestoreDirectory(parts[1], path);
                continue;
            }
            // A name synced before its data: the file exists with what its last sync held, or nothing.
            string content = Path.Combine(ShadowDirectory, "data", parts[1]);
            if (File.Exists(content)) File.Copy(content, path);
            else File.WriteAllBytes(path, []);
            files++;
        }
        return files;
    }

    private static long DirectoryBytes(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private static string Compile()
    {
        // Named by the source's hash: test runs share one build of each version instead of leaving one per process.
        string source = Path.Combine(AppContext.BaseDirectory, "Integration", "PowerCut", "durable_shadow.c");
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(source)))[..16];
        string library = Path.Combine(Path.GetTempPath(), $"ferry-durable-shadow-{hash}.so");
        if (File.Exists(library)) return library;
        string building = $"{library}.{System.Environment.ProcessId}";
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-shared", "-fPIC", "-O2", "-o", building, source, "-ldl"])
        {
            RedirectStandardError = true,
        })!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc failed to build the fault layer:\n{errors}");
        File.Move(building, library, overwrite: true); // whole or absent to a process starting beside this one
        return library;
    }
}
