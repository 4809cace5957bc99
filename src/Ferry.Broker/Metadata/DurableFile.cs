using Ferry.Storage.Durability;

namespace Ferry.Broker.Metadata;

/// <summary>
/// Replaces a small metadata file atomically and durably: write a temporary file, fsync it, rename it over
/// the old one, fsync the directory. A crash at any point leaves either the old or the new content, never a
/// mix. Used for the broker's definitions (topics, exchanges, queues, bindings).
/// </summary>
public static class DurableFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content) => AtomicFile.Write(path, content);

    /// <summary>The file's content, or null if it does not exist. A leftover temporary file is ignored.</summary>
    public static byte[]? ReadAllBytes(string path) => File.Exists(path) ? File.ReadAllBytes(path) : null;

    public static void SyncDirectory(string directory) => FileSync.SyncDirectory(directory);
}
