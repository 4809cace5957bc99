using System.Net;

namespace Ferry.Cluster;

/// <summary>One voter of the metadata quorum: its node id and its inter-node (Raft) address.</summary>
public sealed record Voter(int NodeId, IPEndPoint EndPoint)
{
    /// <summary>Parses <c>1@HOST:PORT,2@HOST:PORT,...</c> (Kafka's controller.quorum.voters form).</summary>
    public static IReadOnlyList<Voter> ParseList(string value)
    {
        var voters = new List<Voter>();
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int at = entry.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0 || !int.TryParse(entry.AsSpan(0, at), out int id) || id < 0)
                throw new FormatException($"Voter '{entry}' is not NODE_ID@HOST:PORT.");
            if (!IPEndPoint.TryParse(entry[(at + 1)..], out var endPoint) || endPoint.Port == 0)
            {
                var hostPort = entry[(at + 1)..];
                int colon = hostPort.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535)
                    throw new FormatException($"Voter '{entry}' is not NODE_ID@HOST:PORT.");
                var host = hostPort[..colon];
                var address = host == "localhost" ? IPAddress.Loopback : Dns.GetHostAddresses(host).FirstOrDefault()
                    ?? throw new FormatException($"Voter '{entry}': host '{host}' does not resolve.");
                endPoint = new IPEndPoint(address, port);
            }
            if (voters.Exists(v => v.NodeId == id)) throw new FormatException($"Node id {id} appears twice in the voter list.");
            if (voters.Exists(v => v.EndPoint.Equals(endPoint))) throw new FormatException($"Address {endPoint} appears twice in the voter list.");
            voters.Add(new Voter(id, endPoint));
        }
        if (voters.Count == 0) throw new FormatException("The voter list is empty.");
        return voters;
    }
}

/// <summary>What a node of a cluster needs to join it, resolved by the host from its settings.</summary>
public sealed class ClusterOptions
{
    public required int NodeId { get; init; }
    public required IReadOnlyList<Voter> Voters { get; init; }
    /// <summary>Shared by every node; peers prove they know it on the inter-node control requests.</summary>
    public required string Secret { get; init; }
    public required string ClusterId { get; init; }
    /// <summary>Where the quorum's log and snapshots live (<c>DATA/cluster</c>).</summary>
    public required string Directory { get; init; }
    public required string KafkaHost { get; init; }
    public required int KafkaPort { get; init; }
    /// <summary>That Kafka listener's security protocol (Kafka's name), registered so that peers know how to speak to it.</summary>
    public string KafkaSecurityProtocol { get; init; } = Broker.Cluster.ClusterNode.Plaintext;
    /// <summary>This node's admin HTTP address, where peers forward controller requests (<c>http://HOST:PORT</c>).</summary>
    public required string HttpEndPoint { get; init; }
    /// <summary>A node the quorum leader cannot reach for this long is fenced and loses its leaderships.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// Sooner than that, a node unreachable for this long whose inter-node port refuses connections (its process is
    /// gone) is fenced; the delay asks for DotNext's failed heartbeats to agree with the probe before acting on it.
    /// </summary>
    public TimeSpan RefusedFenceDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Kafka's controller.quorum.election.timeout.ms is 1000; a Raft candidate waits a random time up to twice it.</summary>
    public int LowerElectionTimeoutMs { get; init; } = 1000;
    public int UpperElectionTimeoutMs { get; init; } = 2000;

    /// <summary>Where the inter-node listener binds; null: this node's voter entry, which stays its identity (DotNext's public end point).</summary>
    public IPEndPoint? ListenEndPoint { get; init; }

    /// <summary>
    /// The admin HTTP addresses (<c>http://HOST:PORT</c>) of running nodes a broker-only node first fetches metadata
    /// from (<c>--join</c>); empty on voters.
    /// </summary>
    public IReadOnlyList<string> Join { get; init; } = [];

    /// <summary>True when this node is one of the voters; false: a broker-only node (KRaft's broker role), outside the Raft group.</summary>
    public bool IsVoter => Voters.Any(v => v.NodeId == NodeId);

    public Voter Self => Voters.First(v => v.NodeId == NodeId);
}
