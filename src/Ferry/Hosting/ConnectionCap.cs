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
/// Refusing after the accept is not enough on its own: under a flood on 2 busy cores Kestrel's accept loop outran
/// the thread-pool work that closes refused sockets, and the process still reached the limit. So the listeners
/// (<see cref="CappedConnectionListenerFactory"/>) also stop accepting while the sockets held — served, and refused
/// but not yet closed — reach the cap plus a small margin for refusals; the kernel's backlog then holds the rest,
/// as Kafka's acceptor does at max.connections.
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
    private long _lastPauseLogTicks = long.MinValue;
    private SemaphoreSlim? _sockets;

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

    /// <summary>
    /// Waits, before the next accept, until a socket slot is free; at once while no connection has fixed the cap yet.
    /// False: no slot was taken (the cap is not fixed yet), so the socket accepted next takes one in
    /// <see cref="SocketAccepted"/>.
    /// </summary>
    internal async ValueTask<bool> WaitForSocketSlotAsync(CancellationToken cancellationToken)
    {
        var sockets = Volatile.Read(ref _sockets);
        if (sockets is null) return false;
        if (sockets.Wait(0, CancellationToken.None)) return true;
        Paused();
        await sockets.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>A socket accepted without a slot (before the cap was fixed): fixes the cap and takes a slot if one is free.</summary>
    internal bool SocketAccepted()
    {
        FixLimit();
        return Volatile.Read(ref _sockets)!.Wait(0);
    }

    /// <summary>A socket that held a slot is closed.</summary>
    internal void SocketClosed() => Volatile.Read(ref _sockets)!.Release();

    internal bool TryEnter()
    {
        int limit = FixLimit();
        if (Interlocked.Increment(ref _open) <= limit) return true;
        Interlocked.Decrement(ref _open);
        Refused(limit);
        return false;
    }

    private int FixLimit()
    {
        int limit = Volatile.Read(ref _limit);
        if (limit != 0 && Volatile.Read(ref _sockets) is not null) return limit;
        lock (_lock)
        {
            if (_limit == 0) _limit = FromOpenFileLimit();
            // Room for the served connections and an eighth more, refused and waiting to be closed.
            _sockets ??= new SemaphoreSlim((int)Math.Min(int.MaxValue / 2, _limit + Math.Max(1L, _limit / 8)));
            return _limit;
        }
    }

    private void Paused()
    {
        if (DueToLog(ref _lastPauseLogTicks)) AcceptPaused(logger(), Volatile.Read(ref _limit));
    }

    private void Refused(int limit)
    {
        Interlocked.Increment(ref _refusedSinceLog);
        if (DueToLog(ref _lastLogTicks)) TooManyConnections(logger(), Interlocked.Exchange(ref _refusedSinceLog, 0), limit);
    }

    /// <summary>True for the one caller that may log now: none has for <see cref="LogInterval"/> (or ever).</summary>
    private bool DueToLog(ref long lastTicks)
    {
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref lastTicks);
        if (last != long.MinValue && _time.GetElapsedTime(last, now) < LogInterval) return false;
        return Interlocked.CompareExchange(ref lastTicks, now, last) == last;
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

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Not accepting connections for now: {Limit} are open and the refused ones are not closed yet; new ones wait in the listen backlog")]
    private static partial void AcceptPaused(ILogger logger, int limit);
}
