using Microsoft.Win32.SafeHandles;

namespace Ferry.Storage.Files;

/// <summary>
/// A file Ferry keeps using for a long time (a segment, a queue's ack file) whose descriptor the
/// <see cref="FileHandleCache"/> may close while nobody uses it and reopen on the next use, so that ten thousand
/// partitions and queues fit in a process's descriptor limit.
/// </summary>
/// <remarks>
/// Every use goes through <see cref="Use"/>, a lease for the length of one system call (read, write, fsync,
/// truncate), so eviction never closes a descriptor under an operation. Closing and reopening changes nothing a
/// reader or writer can see: data written through the old descriptor is in the page cache, and fdatasync on the
/// new descriptor flushes the file, not the descriptor. A file that is about to be unlinked or renamed over while
/// readers still hold it is pinned open (<see cref="KeepOpen"/>) first, since its path no longer leads to it.
/// </remarks>
public sealed class CachedFile : IDisposable
{
    private readonly FileHandleCache _cache;
    private readonly Lock _gate = new();
    private SafeFileHandle? _handle;
    private int _users;
    private bool _pinned;
    private bool _disposed;

    internal CachedFile(FileHandleCache cache, string path, FileAccess access, FileShare share)
    {
        _cache = cache;
        Path = path;
        Access = access;
        Share = share;
    }

    public string Path { get; }
    internal FileAccess Access { get; }
    internal FileShare Share { get; }

    /// <summary>Set on each use and cleared by the cache's clock hand: a file used since its last pass is spared once.</summary>
    internal volatile bool RecentlyUsed;

    /// <summary>Index in the cache's table of open files, or -1; guarded by the cache's lock.</summary>
    internal int Slot = -1;

    /// <summary>Whether a descriptor is open now (for tests and metrics).</summary>
    public bool IsOpen
    {
        get
        {
            lock (_gate) return _handle is not null;
        }
    }

    /// <summary>Takes the open descriptor for one operation, opening the file again if the cache closed it.</summary>
    public Lease Use()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _handle ??= _cache.Open(this);
            _users++;
            RecentlyUsed = true;
            return new Lease(this, _handle);
        }
    }

    /// <summary>
    /// Keeps the descriptor open until <see cref="Dispose"/>: the path is about to stop naming this file (deleted, or
    /// replaced by a cleaned segment) while readers may still read it through this object.
    /// </summary>
    public void KeepOpen()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _pinned = true;
            try
            {
                _handle ??= _cache.Open(this);
            }
            catch (IOException)
            {
                // Out of descriptors even after eviction: readers of this file then fail with an I/O error, which
                // they answer as a storage error; retention and cleaning go on.
            }
        }
    }

    /// <summary>The descriptor the file was created or first opened with.</summary>
    internal void Adopt(SafeFileHandle handle)
    {
        lock (_gate) _handle = handle;
    }

    /// <summary>Called by the cache's clock hand: closes the descriptor unless it is in use or pinned.</summary>
    internal bool TryClose()
    {
        // TryEnter, not Enter: the caller holds the cache's lock, and a thread opening this file holds ours and
        // waits for the cache's: skipping a busy file is what keeps the two locks free of deadlock.
        if (!_gate.TryEnter()) return false;
        try
        {
            if (_handle is null || _users > 0 || _pinned) return false;
            _handle.Dispose();
            _handle = null;
            return true;
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void Return()
    {
        lock (_gate) _users--;
    }

    public void Dispose()
    {
        SafeFileHandle? handle;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            handle = _handle;
            _handle = null;
        }
        if (handle is not null)
        {
            _cache.Forget(this);
            handle.Dispose();
        }
    }

    /// <summary>One operation's hold on the descriptor; dispose it right after the system call.</summary>
    public readonly ref struct Lease
    {
        private readonly CachedFile _file;

        internal Lease(CachedFile file, SafeFileHandle handle)
        {
            _file = file;
            Handle = handle;
        }

        public SafeFileHandle Handle { get; }

        public void Dispose() => _file?.Return();
    }
}
