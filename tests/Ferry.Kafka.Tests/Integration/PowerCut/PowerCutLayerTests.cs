using System.Diagnostics;

namespace Ferry.Kafka.Tests.Integration.PowerCut;

/// <summary>
/// The fault layer itself, driven by a Python process under it (os.fsync is libc's fsync): after the cut, the data
/// directory must hold what completed syncs made durable and nothing else. A layer that kept too much would let
/// <see cref="PowerCutTests"/> pass over the losses it is there to find.
/// </summary>
public sealed class PowerCutLayerTests
{
    // Each step's comment says what a power cut right after the script keeps.
    private const string Script = """
        import os, sys
        root = sys.argv[1]
        def sync(path):
            fd = os.open(path, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        def write(name, data, durable):
            with open(os.path.join(root, name), "ab") as f:
                f.write(data)
                f.flush()
                if durable: os.fsync(f.fileno())
        write("log", b"synced", True)           # kept
        write("log", b"+unsynced", False)       # dropped: written after the last sync
        write("named", b"named", True)          # kept: its name is synced below
        sync(root)
        write("unnamed", b"data", True)         # dropped: its directory was not synced after it was made
        os.rename(os.path.join(root, "old"), os.path.join(root, "new"))      # undone
        os.unlink(os.path.join(root, "doomed"))                              # undone
        os.truncate(os.path.join(root, "shrunk"), 1)                         # undone
        os.mkdir(os.path.join(root, "fresh"))                                # dropped
        """;

    [Fact]
    public void RestoreDurableState_AfterUnsyncedChanges_KeepsOnlyWhatWasSynced()
    {
        string data = Path.Combine(Path.GetTempPath(), "ferry-layer-" + Guid.NewGuid().ToString("N"));
        var cut = new PowerCut(data);
        try
        {
            // Present before the process starts: the layer takes them as durable.
            File.WriteAllText(Path.Combine(data, "old"), "renamed");
            File.WriteAllText(Path.Combine(data, "doomed"), "unlinked");
            File.WriteAllText(Path.Combine(data, "shrunk"), "truncated");
            Directory.CreateDirectory(Path.Combine(data, "sub"));
            File.WriteAllText(Path.Combine(data, "sub", "inner"), "nested");

            var info = new ProcessStartInfo("python3", ["-c", Script, data]) { RedirectStandardError = true };
            foreach (var (key, value) in cut.Environment) info.Environment[key] = value;
            using (var python = Process.Start(info)!)
            {
                string errors = python.StandardError.ReadToEnd();
                python.WaitForExit();
                Assert.True(python.ExitCode == 0, errors);
            }
            Assert.Equal("synced+unsynced", File.ReadAllText(Path.Combine(data, "log")));

            cut.RestoreDurableState();

            var names = Directory.EnumerateFileSystemEntries(data, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(data, p)).Order().ToArray();
            Assert.Equal(["doomed", "log", "named", "old", "shrunk", "sub", Path.Combine("sub", "inner")], names);
            Assert.Equal("synced", File.ReadAllText(Path.Combine(data, "log")));
            Assert.Equal("named", File.ReadAllText(Path.Combine(data, "named")));
            Assert.Equal("renamed", File.ReadAllText(Path.Combine(data, "old")));
            Assert.Equal("unlinked", File.ReadAllText(Path.Combine(data, "doomed")));
            Assert.Equal("truncated", File.ReadAllText(Path.Combine(data, "shrunk")));
            Assert.Equal("nested", File.ReadAllText(Path.Combine(data, "sub", "inner")));
        }
        finally
        {
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
            if (Directory.Exists(cut.ShadowDirectory)) Directory.Delete(cut.ShadowDirectory, recursive: true);
        }
    }
}
