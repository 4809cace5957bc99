using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;

namespace Ferry.Broker.Connections;

/// <summary>One client connection as operators see it: who, from where, with what software.</summary>
public sealed class ClientConnection
{
    internal ClientConnection(string id, string protocol, EndPoint? remote, EndPoint? local, DateTimeOffset connectedAt)
    {
        Id = id;
        Protocol = protocol;
        RemoteEndPoint = remote;
        LocalEndPoint = local;
        ConnectedAt = connectedAt;
    }

    public string Id { get; }

    /// <summary><c>kafka</c> or <c>amqp</c>.</summary>
    public string Protocol { get; }

    public EndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint { get; }

    public DateTimeOffset ConnectedAt { get; }

    /// <summary>Kafka: the client.id of the request header. AMQP: the connection_name client property.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client library and version (AMQP client properties product/version), when the client says.</summary>
    public string? ClientSoftware { get; set; }

    /// <summary>AMQP: the user that logged in.</summary>
    public string? User { get; set; }
}

/// <summary>
/// The open client connections of both protocols, for the admin API and the connections metric. Each
/// protocol registers a connection when Kestrel hands it over and removes it when the connection ends; the
/// registry knows nothing of the protocols beyond a name.
/// </summary>
public sealed class ConnectionRegistry
{
    public const string MeterName = "Ferry.Broker";

    private static readonly Meter Meter = new(MeterName);
    private static readonly UpDownCounter<long> Open = Meter.CreateUpDownCounter<long>(
        "ferry.connections", unit: "{connection}", description: "Open client connections per protocol");

    private readonly ConcurrentDictionary<string, ClientConnection> _connections = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public ConnectionRegistry(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    public IEnumerable<ClientConnection> Connections => _connections.Values;

    public int Count => _connections.Count;

    public ClientConnection Register(string id, string protocol, EndPoint? remote, EndPoint? local)
    {
        var connection = new ClientConnection(id, protocol, remote, local, _time.GetUtcNow());
        _connections[id] = connection;
        Open.Add(1, new KeyValuePair<string, object?>("protocol", protocol));
        return connection;
    }

    public void Unregister(ClientConnection connection)
    {
        if (_connections.TryRemove(new KeyValuePair<string, ClientConnection>(connection.Id, connection)))
        {
            Open.Add(-1, new KeyValuePair<string, object?>("protocol", connection.Protocol));
        }
    }
}
