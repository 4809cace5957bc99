namespace Ferry.Broker.Exchanges;

public enum ExchangeType
{
    Direct,
    Fanout,
    Topic,
    Headers,
}

public static class ExchangeTypes
{
    public static bool TryParse(string name, out ExchangeType type)
    {
        switch (name)
        {
            case "direct": type = ExchangeType.Direct; return true;
            case "fanout": type = ExchangeType.Fanout; return true;
            case "topic": type = ExchangeType.Topic; return true;
            case "headers": type = ExchangeType.Headers; return true;
            default: type = default; return false;
        }
    }

    public static string ToName(ExchangeType type) => type switch
    {
        ExchangeType.Direct => "direct",
        ExchangeType.Fanout => "fanout",
        ExchangeType.Topic => "topic",
        _ => "headers",
    };
}

/// <summary>What a binding points at: a queue or (exchange-to-exchange) an exchange.</summary>
public interface IBindingDestination
{
    string Name { get; }
}

/// <summary>
/// A binding from <see cref="Source"/> to a queue or exchange. <see cref="EncodedArguments"/> (the field
/// table as bytes) identifies it together with the key, as in RabbitMQ where two bindings differing only
/// in arguments are distinct.
/// </summary>
public sealed record Binding(
    Exchange Source,
    IBindingDestination Destination,
    string RoutingKey,
    IReadOnlyDictionary<string, object?>? Arguments,
    byte[] EncodedArguments)
{
    public bool SameAs(IBindingDestination destination, string routingKey, ReadOnlySpan<byte> encodedArguments) =>
        ReferenceEquals(Destination, destination) && RoutingKey == routingKey
        && EncodedArguments.AsSpan().SequenceEqual(encodedArguments);
}
