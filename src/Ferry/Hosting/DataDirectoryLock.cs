namespace Ferry.Hosting;

/// <summary>
/// Holds an exclusive lock on <c>DATA/.lock</c> for the life of the process, so that two brokers never write
/// the same logs. The OS releases it when the process dies, SIGKILL included.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _lock;

    private DataDirectoryLock(string directory, FileStream fileLock)
    {
        Directory = directory;
        _lock = fileLock;
    }

    public string Directory { get; }

    public static DataDirectoryLock Acquire(string directory)
    {
        string full = Path.GetFullPath(directory);
        // Durably: a data directory made here whose own name a power cut took would take every log with it.
        Ferry.Storage.Durability.FileSync.CreateDirectory(full);
        try
        {
            var fileLock = new FileStream(Path.Combine(full, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new DataDirectoryLock(full, fileLock);
        }
        catch (IOException ex)
        {
            throw new IOException($"Data directory '{full}' is in use by another Ferry process.", ex);
        }
    }

    public void Dispose() => _lock.Dispose();
}
