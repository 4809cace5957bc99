using System.Net;

namespace Ferry.Configuration;

/// <summary>
/// One listener from a listener setting: <c>HOST:PORT</c> or <c>SCHEME://HOST:PORT</c>. Kafka's schemes are its
/// security protocols (<c>PLAINTEXT</c>, <c>SSL</c>, <c>SASL_PLAINTEXT</c>, <c>SASL_SSL</c>); AMQP's are <c>amqp</c>
/// and <c>amqps</c>; HTTP's <c>http</c> and <c>https</c>. A bare address is the first, unencrypted scheme.
/// </summary>
public sealed record ListenerAddress(string Scheme, IPEndPoint EndPoint, bool Tls, bool Sasl)
{
    public static readonly string[] KafkaSchemes = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
    public static readonly string[] AmqpSchemes = ["amqp", "amqps"];
    public static readonly string[] HttpSchemes = ["http", "https"];

    /// <summary>Parses a comma-separated list; <paramref name="schemes"/> names the unencrypted scheme first.</summary>
    public static IReadOnlyList<ListenerAddress> ParseList(string value, string setting, string[] schemes)
    {
        var listeners = new List<ListenerAddress>();
        foreach (string item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string scheme = schemes[0];
            string address = item;
            int separator = item.IndexOf("://", StringComparison.Ordinal);
            if (separator >= 0)
            {
                string given = item[..separator];
                scheme = schemes.FirstOrDefault(s => string.Equals(s, given, StringComparison.OrdinalIgnoreCase))
                    ?? throw new FormatException($"{setting}: '{given}' in '{item}' is not one of {string.Join(", ", schemes)}.");
                address = item[(separator + 3)..];
            }
            var endPoint = EndPointParser.Parse(address, setting);
            bool tls = scheme is "SSL" or "SASL_SSL" or "amqps" or "https";
            listeners.Add(new ListenerAddress(scheme, endPoint, tls, scheme.StartsWith("SASL_", StringComparison.Ordinal)));
        }
        if (listeners.Count == 0) throw new FormatException($"{setting}: no listener given.");
        return listeners;
    }

    public override string ToString() => $"{Scheme}://{EndPoint}";
}
