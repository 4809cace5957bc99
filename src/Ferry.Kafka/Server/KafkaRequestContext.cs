using System.Net;
using Ferry.Kafka.Security;

namespace Ferry.Kafka.Server;

/// <summary>What a handler knows about the request it answers and the connection it came on.</summary>
public sealed class KafkaRequestContext
{
    public required string ConnectionId { get; init; }
    public required short ApiKey { get; init; }
    public required short ApiVersion { get; init; }
    public required int CorrelationId { get; init; }
    public required string? ClientId { get; init; }

    /// <summary>The listener address the client connected to: what Metadata advertises by default.</summary>
    public required EndPoint? LocalEndPoint { get; init; }

    /// <summary>The client's address: what DescribeGroups shows as a member's host.</summary>
    public EndPoint? RemoteEndPoint { get; init; }

    /// <summary>Who the connection is; null only where a handler is driven without a connection (tests).</summary>
    public KafkaSession? Session { get; init; }

    /// <summary>The order of the connection's Produce appends; null only where a handler is driven without a connection (tests).</summary>
    public ProduceAppendOrder? AppendOrder { get; init; }

    /// <summary>
    /// Produce only: how long the broker throttles this producer (over its memory limit), in ms; the handler puts it in
    /// the response's throttle_time_ms and the connection reads nothing more for that long.
    /// </summary>
    public int ThrottleTimeMs { get; init; }

    /// <summary>Cancelled when the connection closes or the server asks it to (shutdown): waits end early.</summary>
    public required CancellationToken ConnectionClosed { get; init; }
}
