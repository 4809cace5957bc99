using System.Runtime.InteropServices;

namespace Ferry.Broker.Metadata;

/// <summary>
/// Replaces a small metadata file atomically and durably: write a temporary file, fsync it, rename it over
/// the old one, fsync the directory. A crash at any point leaves either the old or the new content, never a
/// mix. Used for the broker's definitions (topics, exchanges, queues, bindings).
/// </summary>
public static class DurableFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        SyncDirectory(directory);
    }

    /// <summary>The file's content, or null if it does not exist. A leftover temporary file is ignored.</summary>
    public static byte[]? ReadAllBytes(string path) => File.Exists(path) ? File.ReadAllBytes(path) : null;

    /// <summary>
    /// fsync on the directory makes a rename or a new file's name durable (POSIX). .NET refuses to open a
    /// directory as a file, so this goes to libc.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Libc.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Libc.Fsync(fd) != 0) throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }
}

internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
