namespace Ferry.Cluster.Replication;

/// <summary>Replication settings, with Kafka's names where Kafka has them.</summary>
public sealed class ReplicationOptions
{
    /// <summary>
    /// A follower that has not caught up with the leader's log end for this long leaves the ISR
    /// (<c>replica.lag.time.max.ms</c>, 30 s in Kafka).
    /// </summary>
    public TimeSpan ReplicaLagTimeMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a follower's fetch waits at the leader for new data (<c>replica.fetch.wait.max.ms</c>).</summary>
    public TimeSpan FetchMaxWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bytes a follower asks for per fetch (<c>replica.fetch.max.bytes</c>; at least one batch comes).</summary>
    public int FetchMaxBytes { get; init; } = 1 << 20;

    /// <summary>Pause after a failed fetch before the next try (<c>replica.fetch.backoff.ms</c>).</summary>
    public TimeSpan FetchBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a leader checks its followers for ISR shrink and expansion.</summary>
    public TimeSpan IsrCheckInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Monotonic milliseconds, the clock of follower progress (Kafka Fetch handler and replica server share it).
    /// Tests replace it to move time by hand.
    /// </summary>
    public Func<long> NowMs { get; init; } = static () => Environment.TickCount64;
}
