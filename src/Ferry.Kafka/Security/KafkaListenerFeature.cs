namespace Ferry.Kafka.Security;

/// <summary>Kafka's security protocols, one per listener (<c>listener.security.protocol.map</c>).</summary>
public enum KafkaSecurityProtocol
{
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// <summary>
/// Set on each connection by the host's listener: which security protocol the connection came in on. A
/// connection without it is PLAINTEXT (tests that host the handler alone).
/// </summary>
public sealed class KafkaListenerFeature(KafkaSecurityProtocol protocol)
{
    public KafkaSecurityProtocol Protocol { get; } = protocol;

    public bool Tls => Protocol is KafkaSecurityProtocol.Ssl or KafkaSecurityProtocol.SaslSsl;

    /// <summary>Whether a client must authenticate with SASL before anything but ApiVersions and the SASL requests.</summary>
    public bool RequiresSasl => Protocol is KafkaSecurityProtocol.SaslPlaintext or KafkaSecurityProtocol.SaslSsl;

    public static KafkaListenerFeature FromName(string name) => new(name switch
    {
        "SSL" => KafkaSecurityProtocol.Ssl,
        "SASL_PLAINTEXT" => KafkaSecurityProtocol.SaslPlaintext,
        "SASL_SSL" => KafkaSecurityProtocol.SaslSsl,
        _ => KafkaSecurityProtocol.Plaintext,
    });
}
