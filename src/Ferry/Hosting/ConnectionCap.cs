using Ferry.Storage.Files;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Hosting;

/// <summary>
/// At most N client connections at once over every Kafka, AMQP and HTTP listener: Kestrel connection middleware
/// ahead of TLS and the protocol. A connection over the cap is closed at once; refusals are logged once per
/// <see cref="LogInterval"/> with their count, so a flood does not flood the log too.
/// </summary>
/// <remarks>
/// The cap keeps file descriptors in reserve. At the open-file limit (EMFILE) the runtime itself fails: loading an
/// assembly or resource on first use, as the first exception of a kind does, ended the process with "Out of memory."
/// or an internal CLR error under a flood of ~800 connections with <c>ulimit -n 512</c>. So by default
/// (<c>Security:MaxConnections</c> 0) the cap is three quarters of the descriptors still free when the first
/// connection arrives (storage is open by then); the remaining quarter is for new segments, files and the runtime.
/// </remarks>
internal sealed partial class ConnectionCap(int configured, Func<ILogger> logger, TimeProvider? time = null)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private int _limit = configured;
    private int _open;
    private long _refusedSinceLog;
    private long _lastLogTicks = long.MinValue;

    /// <summary>The cap in force (0 until the first connection fixes it when it is derived from the open-file limit).</summary>
    public int Limit => Volatile.Read(ref _limit);

    public int Open => Volatile.Read(ref _open);

    public void Use(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listener) => listener.Use(next => async connection =>
    {
        if (!TryEnter())
        {
            connection.Abort(new ConnectionAbortedException("Too many connections"));
            return;
        }
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    });

    internal bool TryEnter()
    {
        int limit = Volatile.Read(ref _limit);
        if (limit == 0)
        {
            lock (_lock)
            {
                if (_limit == 0) _limit = FromOpenFileLimit();
                limit = _limit;
            }
        }
        if (Interlocked.Increment(ref _open) <= limit) return true;
        Interlocked.Decrement(ref _open);
        Refused(limit);
        return false;
    }

    private void Refused(int limit)
    {
        long refused = Interlocked.Increment(ref _refusedSinceLog);
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref _lastLogTicks);
        if (last != long.MinValue && _time.GetElapsedTime(last, now) < LogInterval) return;
        if (Interlocked.CompareExchange(ref _lastLogTicks, now, last) != last) return;
        refused = Interlocked.Exchange(ref _refusedSinceLog, 0);
        TooManyConnections(logger(), refused, limit);
    }

    /// <summary>
    /// Three quarters of the descriptors not yet in use under the soft open-file limit, less those the segment and ack
    /// file cache may still open (<see cref="FileHandleCache"/>); int.MaxValue where the limit cannot be read.
    /// </summary>
    private static int FromOpenFileLimit()
    {
        long? soft = FileHandleCache.SoftOpenFileLimit();
        if (soft is null) return int.MaxValue;
        long used;
        try
        {
            used = Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return int.MaxValue;
        }
        var files = FileHandleCache.Shared;
        long filesToCome = Math.Max(0, files.Limit - files.OpenCount);
        return (int)Math.Clamp((soft.Value - used - filesToCome) * 3 / 4, 1, int.MaxValue);
    }

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Refused {Count} connections: {Limit} are open, the most this process takes (Security:MaxConnections; by default from the open-file limit)")]
    private static partial void TooManyConnections(ILogger logger, long count, int limit);
}
