using System.Text.Json.Serialization;

namespace Ferry.Broker.Metadata;

/// <summary>
/// The durable AMQP definitions, one JSON file <c>amqp/definitions.json</c> rewritten atomically
/// (<see cref="DurableFile"/>) after every change to a durable exchange, queue or binding. Field tables
/// (arguments) are kept as their AMQP encoding in base64, so that every value type survives the round trip.
/// </summary>
/// <remarks>
/// <code>
/// { "version": 1, "nextQueueId": 7,
///   "exchanges": [ { "name": "orders", "type": "topic", "autoDelete": false, "internal": false, "arguments": "base64" } ],
///   "queues":    [ { "name": "q1", "id": 3, "autoDelete": false, "arguments": "base64" } ],
///   "bindings":  [ { "source": "orders", "destination": "q1", "toExchange": false, "routingKey": "a.#", "arguments": "base64" } ] }
/// </code>
/// Only durable entities appear; a binding is durable when both its ends are. Each durable queue's messages
/// live in <c>amqp/queues/&lt;id&gt;/</c>.
/// </remarks>
internal sealed class AmqpDefinitions
{
    public int Version { get; set; } = 1;
    public long NextQueueId { get; set; } = 1;
    public List<ExchangeDefinition> Exchanges { get; set; } = [];
    public List<QueueDefinition> Queues { get; set; } = [];
    public List<BindingDefinition> Bindings { get; set; } = [];
}

internal sealed class ExchangeDefinition
{
    public string Name { get; set; } = "";
    public string Type { get; set; } = "direct";
    public bool AutoDelete { get; set; }
    public bool Internal { get; set; }
    public byte[] Arguments { get; set; } = [];
}

internal sealed class QueueDefinition
{
    public string Name { get; set; } = "";
    public long Id { get; set; }
    public bool AutoDelete { get; set; }
    public byte[] Arguments { get; set; } = [];
}

internal sealed class BindingDefinition
{
    public string Source { get; set; } = "";
    public string Destination { get; set; } = "";
    public bool ToExchange { get; set; }
    public string RoutingKey { get; set; } = "";
    public byte[] Arguments { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(AmqpDefinitions))]
[JsonSerializable(typeof(QueueDefinition))]
internal sealed partial class AmqpDefinitionsJsonContext : JsonSerializerContext;
