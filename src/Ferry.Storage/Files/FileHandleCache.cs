using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Storage.Files;

/// <summary>
/// Bounds how many of Ferry's long-lived files hold a descriptor at once (one per segment and one per queue ack file
/// would otherwise be ~30,000 for 10,000 partitions and 10,000 queues). Past the bound, opening one file closes the
/// least recently used idle one (a clock sweep: O(1) per use, no list to reorder on the hot path).
/// </summary>
/// <remarks>
/// One per process, because the descriptor limit is the process's: every log of every node in the process shares
/// it. The default leaves half of the process's soft RLIMIT_NOFILE to connections and short-lived files.
/// </remarks>
public sealed class FileHandleCache
{
    private const int Errno_EMFILE = 24;
    private const int Errno_ENFILE = 23;

    private readonly Lock _gate = new();
    private readonly List<CachedFile> _open = [];
    private int _hand;
    private int _limit;

    public FileHandleCache(int limit) => _limit = Math.Max(1, limit);

    /// <summary>The process's cache, sized from its descriptor limit (<c>Storage:MaxOpenFiles</c> overrides).</summary>
    public static FileHandleCache Shared { get; } = new(DefaultLimit());

    /// <summary>How many cached files may hold a descriptor at once.</summary>
    public int Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, Math.Max(1, value));
    }

    /// <summary>Descriptors open now through this cache.</summary>
    public int OpenCount
    {
        get
        {
            lock (_gate) return _open.Count;
        }
    }

    /// <summary>Descriptors closed to make room, since start.</summary>
    public long Evictions { get; private set; }

    /// <summary>Creates (or opens) <paramref name="path"/> and keeps it under the cache's bound from then on.</summary>
    public CachedFile Open(string path, FileMode mode, FileAccess access, FileShare share)
    {
        var file = new CachedFile(this, path, access, share);
        MakeRoom(1);
        file.Adopt(OpenHandle(path, mode, access, share));
        Register(file);
        return file;
    }

    internal SafeFileHandle Open(CachedFile file)
    {
        MakeRoom(1);
        var handle = OpenHandle(file.Path, FileMode.Open, file.Access, file.Share);
        Register(file);
        return handle;
    }

    private void Register(CachedFile file)
    {
        lock (_gate)
        {
            file.Slot = _open.Count;
            _open.Add(file);
        }
    }

    internal void Forget(CachedFile file)
    {
        lock (_gate) RemoveAt(file);
    }

    private SafeFileHandle OpenHandle(string path, FileMode mode, FileAccess access, FileShare share)
    {
        try
        {
            return File.OpenHandle(path, mode, access, share);
        }
        catch (IOException e) when (IsOutOfDescriptors(e))
        {
            // Connections and short-lived files took what the bound left: give back a quarter of ours and try once
            // more; if that fails too the caller answers with its protocol's storage error.
            MakeRoom(Math.Max(1, OpenCount / 4));
            return File.OpenHandle(path, mode, access, share);
        }
    }

    /// <summary>Closes idle files until <paramref name="needed"/> more fit under the limit (or a full sweep finds none to close).</summary>
    private void MakeRoom(int needed)
    {
        lock (_gate)
        {
            int target = Math.Max(0, Limit - needed);
            // Two turns of the hand: the first clears the recently-used marks it passes, the second can close those.
            for (int steps = 2 * _open.Count; _open.Count > target && steps > 0 && _open.Count > 0; steps--)
            {
                if (_hand >= _open.Count) _hand = 0;
                var candidate = _open[_hand];
                if (candidate.RecentlyUsed)
                {
                    candidate.RecentlyUsed = false;
                    _hand++;
                }
                else if (candidate.TryClose())
                {
                    RemoveAt(candidate);
                    Evictions++;
                }
                else
                {
                    _hand++;
                }
            }
        }
    }

    /// <summary>Swap-removes <paramref name="file"/> from the table; the caller holds the lock.</summary>
    private void RemoveAt(CachedFile file)
    {
        int slot = file.Slot;
        if (slot < 0 || slot >= _open.Count || !ReferenceEquals(_open[slot], file)) return;
        int last = _open.Count - 1;
        _open[slot] = _open[last];
        _open[slot].Slot = slot;
        _open.RemoveAt(last);
        file.Slot = -1;
    }

    private static bool IsOutOfDescriptors(IOException e) =>
        (e.HResult & 0xFFFF) is Errno_EMFILE or Errno_ENFILE || e.Message.Contains("Too many open files", StringComparison.Ordinal);

    /// <summary>Half the soft RLIMIT_NOFILE (at least 64); 4,096 where it cannot be read.</summary>
    private static int DefaultLimit() => SoftOpenFileLimit() is { } soft ? (int)Math.Clamp(soft / 2, 64, 1 << 20) : 4096;

    /// <summary>The process's soft open-file limit from <c>/proc/self/limits</c> ("Max open files  SOFT  HARD  files"); null if none.</summary>
    public static long? SoftOpenFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no /proc.
        }
        return null;
    }
}
