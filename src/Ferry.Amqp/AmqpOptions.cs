using Ferry.Storage;

namespace Ferry.Amqp;

/// <summary>Settings of the AMQP 0-9-1 listener and of the queue storage behind it.</summary>
public sealed class AmqpOptions
{
    /// <summary>Directory of AMQP definitions and durable queues, normally <c>&lt;data&gt;/amqp</c>.</summary>
    public string DataDirectory { get; set; } = "./data/amqp";

    /// <summary>fsync persistent messages before publisher confirms (default true).</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>Segment size of a durable queue's log, bytes (default 16 MiB): space is reclaimed a whole
    /// settled segment at a time, so smaller than a Kafka partition's.</summary>
    public int QueueSegmentBytes { get; set; } = 16 << 20;

    /// <summary>frame_max proposed in connection.tune, bytes (default 131072, as RabbitMQ).</summary>
    public uint FrameMax { get; set; } = 131072;

    /// <summary>channel_max proposed in connection.tune (default 2047, as RabbitMQ).</summary>
    public ushort ChannelMax { get; set; } = 2047;

    /// <summary>Longest a client may take from connecting to connection.open (default 10 s); then it is closed.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Heartbeat proposed in connection.tune, seconds (default 60; the client may lower it or turn it off with 0).</summary>
    public ushort Heartbeat { get; set; } = 60;

    /// <summary>Largest message body accepted, bytes (default 128 MiB, RabbitMQ's max_message_size).</summary>
    public long MaxMessageBytes { get; set; } = 128L << 20;

    /// <summary>Message buffers kept for reuse while no message holds them, bytes (default 64 MiB): what a burst
    /// leaves behind, so that the next one allocates nothing up to that much.</summary>
    public long MessagePoolBytes { get; set; } = 64L << 20;

    /// <summary>
    /// The built-in default user (default guest/guest), accepted unless a stored user has that name; empty turns it off.
    /// Other users come from the user store (config "Users", <c>ferry users</c>).
    /// </summary>
    public string User { get; set; } = "guest";

    public string Password { get; set; } = "guest";

    /// <summary>Accept the default user from loopback addresses only, as RabbitMQ does for guest (default true).</summary>
    public bool LoopbackUsersOnly { get; set; } = true;

    /// <summary>Pause before a refused login is answered with 403 ACCESS_REFUSED, milliseconds (default 1000): password guessing is slow.</summary>
    public int LoginFailureDelayMs { get; set; } = 1000;

    internal LogOptions QueueLogOptions => new()
    {
        SegmentBytes = QueueSegmentBytes,
        RetentionMs = -1,
        RetentionBytes = -1,
        // A queue log is only looked up by offset once, to find where recovery starts: a sparse index (a few
        // entries per segment) is enough, and one entry per 4 KiB grew and rewrote index arrays per segment.
        IndexIntervalBytes = 1 << 20,
        FsyncOnDurableWrite = Fsync,
        MaxBatchBytes = (int)Math.Min(int.MaxValue, MaxMessageBytes + 64 * 1024),
    };
}
