namespace Ferry.Storage.Durability;

/// <summary>
/// Replaces a small file atomically and durably: write a temporary file, fsync it, rename it over the old
/// one, fsync the directory. A crash at any point leaves either the old or the new content, never a mix.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        FileSync.CreateDirectory(directory);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        FileSync.SyncDirectory(directory);
    }
}
