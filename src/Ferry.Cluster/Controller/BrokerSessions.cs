namespace Ferry.Cluster.Controller;

/// <summary>
/// The quorum leader's record of each broker-only node's session (KRaft's BrokerHeartbeat): which process holds the
/// node id (its incarnation, new at every start) and when it last heartbeated. Voters' liveness comes from the Raft
/// heartbeats instead. Not written to the log: a newly elected leader starts every session afresh, with a full
/// session timeout and the incarnation of the first heartbeat it gets. Times are milliseconds of one monotonic clock.
/// </summary>
public sealed class BrokerSessions(TimeSpan sessionTimeout)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Session> _sessions = [];
    private readonly long _timeoutMs = (long)sessionTimeout.TotalMilliseconds;

    /// <summary>This node became the quorum leader: no session it holds is current, and every broker-only node gets a full timeout from now.</summary>
    public void Restart(long now, IEnumerable<int> brokerOnlyNodes)
    {
        lock (_lock)
        {
            _sessions.Clear();
            foreach (int node in brokerOnlyNodes) _sessions[node] = new Session(Guid.Empty, now);
        }
    }

    /// <summary>
    /// Whether a process of <paramref name="incarnation"/> may register <paramref name="nodeId"/>: not while another
    /// process holds a live session for it (Kafka's DUPLICATE_BROKER_REGISTRATION), unless the controller has fenced
    /// that one. An accepted registration starts the session.
    /// </summary>
    public bool TryRegister(int nodeId, Guid incarnation, bool fenced, long now)
    {
        lock (_lock)
        {
            if (!fenced && _sessions.TryGetValue(nodeId, out var held) && held.Incarnation != Guid.Empty && held.Incarnation != incarnation
                && now - held.LastHeartbeat < _timeoutMs) return false;
            _sessions[nodeId] = new Session(incarnation, now);
            return true;
        }
    }

    /// <summary>A heartbeat; false when another process holds the node's session (the asker is a duplicate, or was replaced).</summary>
    public bool Heartbeat(int nodeId, Guid incarnation, long now)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(nodeId, out var held) && held.Incarnation != Guid.Empty && held.Incarnation != incarnation
                && now - held.LastHeartbeat < _timeoutMs) return false;
            _sessions[nodeId] = new Session(incarnation, now);
            return true;
        }
    }

    /// <summary>The node stopped on purpose (controlled shutdown) or was fenced: its session ends.</summary>
    public void End(int nodeId)
    {
        lock (_lock) _sessions.Remove(nodeId);
    }

    /// <summary>How long the node has not heartbeated; a node with no session yet starts one now (a full timeout before it can expire).</summary>
    public long SilentFor(int nodeId, long now)
    {
        lock (_lock)
        {
            if (!_sessions.TryGetValue(nodeId, out var held)) _sessions[nodeId] = held = new Session(Guid.Empty, now);
            return now - held.LastHeartbeat;
        }
    }

    /// <summary>Whether the node's session ran out (no heartbeat for the session timeout).</summary>
    public bool Expired(int nodeId, long now) => SilentFor(nodeId, now) >= _timeoutMs;

    private readonly record struct Session(Guid Incarnation, long LastHeartbeat);
}
