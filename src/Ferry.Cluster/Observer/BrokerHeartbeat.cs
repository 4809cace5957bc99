namespace Ferry.Cluster.Observer;

/// <summary>The timing of a broker-only node's session with the controller (KRaft's broker.heartbeat.interval.ms and the fast fence).</summary>
public static class BrokerHeartbeat
{
    /// <summary>How often a broker-only node heartbeats; several fit in the session timeout (2 s by default).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Silent this long (more than two missed heartbeats), a broker-only node whose Kafka port refuses connections
    /// is fenced without waiting out the session timeout: no process is there.
    /// </summary>
    public static readonly TimeSpan RefusedAfter = TimeSpan.FromMilliseconds(1000);
}
