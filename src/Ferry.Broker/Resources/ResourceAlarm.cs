using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Resources;

/// <summary>
/// Raised while free disk space under the data directory is below a limit, or the process's resident memory above
/// the broker's <see cref="MemoryBudget"/>: RabbitMQ's disk and memory alarms. While it is raised,
/// publishers are held back (AMQP connection.blocked) so that the broker does not run out of disk or memory
/// and fail the acknowledged data it already holds.
/// </summary>
public sealed partial class ResourceAlarm : IDisposable
{
    private readonly Func<long> _freeDiskBytes;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Lock _timerLock = new();
    private TaskCompletionSource _cleared = Completed();
    private string? _reason;
    private long _lastFreeDiskBytes = long.MaxValue;
    private bool _probeFailing;

    public ResourceAlarm(ResourceAlarmOptions options, ILogger<ResourceAlarm> logger, TimeProvider? time = null,
        Func<long>? freeDiskBytes = null, MemoryBudget? memory = null)
    {
        Options = options;
        Memory = memory ?? new MemoryBudget(options.EffectiveMemoryLimitBytes());
        _logger = logger;
        string directory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(directory);
        _freeDiskBytes = freeDiskBytes ?? (() => new DriveInfo(directory).AvailableFreeSpace);
        Check();
        _timer = (time ?? TimeProvider.System).CreateTimer(static s => ((ResourceAlarm)s!).Check(), this, options.CheckInterval, options.CheckInterval);
    }

    public ResourceAlarmOptions Options { get; }

    /// <summary>The memory limit both protocols obey; sampled by this alarm's timer.</summary>
    public MemoryBudget Memory { get; }

    /// <summary>Why publishers are held back, or null when they are not.</summary>
    public string? Reason => Volatile.Read(ref _reason);

    public bool IsRaised => Reason is not null;

    /// <summary>
    /// Fired (on the checking thread) each time the alarm goes up, so that a connection idle in a socket read learns
    /// of it at once rather than at its client's next frame.
    /// </summary>
    public event Action? AlarmRaised;

    /// <summary>Completes when the alarm is (or becomes) clear.</summary>
    public Task WhenClearAsync() => Volatile.Read(ref _cleared).Task;

    /// <summary>Re-evaluates the limits now (the timer does this every check interval).</summary>
    public void Check()
    {
        string? reason = null;
        long free;
        try
        {
            free = _freeDiskBytes();
            _lastFreeDiskBytes = free;
            _probeFailing = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Out of file descriptors (EMFILE under a connection flood), among others, fails the probe while the
            // broker can still serve. On the timer an exception would end the process: keep the last reading and
            // say so once per run of failures.
            if (!_probeFailing) ProbeFailed(_logger, ex.Message);
            _probeFailing = true;
            free = _lastFreeDiskBytes;
        }
        if (free < Options.DiskFreeLimitBytes) reason = $"low on disk: {free} bytes free, limit {Options.DiskFreeLimitBytes}";
        long used = Memory.Sample();
        if (reason is null && used > Memory.LimitBytes) reason = $"low on memory: resident {used} bytes, limit {Memory.LimitBytes}";

        bool raised;
        lock (_timerLock)
        {
            string? previous = _reason;
            if ((previous is null) == (reason is null)) return;
            raised = reason is not null;
            Volatile.Write(ref _reason, reason);
            if (reason is not null)
            {
                Volatile.Write(ref _cleared, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                Raised(_logger, reason);
            }
            else
            {
                Volatile.Read(ref _cleared).TrySetResult();
                Cleared(_logger);
            }
        }
        if (raised) AlarmRaised?.Invoke();
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    public void Dispose() => _timer.Dispose();

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Resource alarm raised, publishers are blocked: {Reason}")]
    private static partial void Raised(ILogger logger, string reason);

    [LoggerMessage(EventId = 2119, Level = LogLevel.Warning, Message = "Resource alarm cannot read the free disk space, keeping the last reading: {Error}")]
    private static partial void ProbeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Resource alarm cleared, publishers may go on")]
    private static partial void Cleared(ILogger logger);
}

/// <summary>Limits of the resource alarm (configuration section <c>Resources</c>).</summary>
public sealed class ResourceAlarmOptions
{
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Block publishers when the data disk has less free space than this (default 50 MB, RabbitMQ's disk_free_limit).</summary>
    public long DiskFreeLimitBytes { get; set; } = 50_000_000;

    /// <summary>
    /// The memory limit as a share of the memory available to the process (RAM, or the container's limit), used when
    /// <see cref="MemoryHighWatermarkBytes"/> is 0: default 0.6, RabbitMQ's vm_memory_high_watermark.
    /// </summary>
    public double MemoryHighWatermark { get; set; } = 0.6;

    /// <summary>
    /// The memory limit in bytes of resident memory (RabbitMQ's vm_memory_high_watermark.absolute): over it Kafka
    /// producers are throttled and AMQP publishers blocked. 0 (default) derives it from <see cref="MemoryHighWatermark"/>.
    /// </summary>
    public long MemoryHighWatermarkBytes { get; set; }

    /// <summary>
    /// How often disk and memory are measured (default 250 ms: a producer at 1 GB/s could grow a burst's buffers by
    /// tens of MB between two readings a second apart; each reading is two system calls).
    /// </summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The limit in bytes these settings give.</summary>
    public long EffectiveMemoryLimitBytes() =>
        MemoryHighWatermarkBytes > 0 ? MemoryHighWatermarkBytes : MemoryBudget.DefaultLimitBytes(MemoryHighWatermark);
}
