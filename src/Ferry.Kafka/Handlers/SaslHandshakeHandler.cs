using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// SaslHandshake: the client names its mechanism; SaslAuthenticate then carries the exchange (KIP-152). v0 is
/// advertised because librdkafka looks for it before it uses SASL at all, but clients that see SaslAuthenticate send
/// v1; a v0 client's unframed tokens that would follow are not Kafka requests and close the connection.
/// </summary>
public sealed class SaslHandshakeHandler : KafkaHandler<SaslHandshakeRequest>
{
    public static readonly List<string> Mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

    public override short ApiKey => ApiKeys.SaslHandshake;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, SaslHandshakeRequest request)
    {
        var session = context.Session;
        short error = ErrorCodes.None;
        if (session is null || !session.Listener.RequiresSasl || session.Authenticated || session.Mechanism is not null) error = ErrorCodes.IllegalSaslState;
        else if (!Mechanisms.Contains(request.Mechanism)) error = ErrorCodes.UnsupportedSaslMechanism;
        else session.Mechanism = request.Mechanism;
        return new(new SaslHandshakeResponse { ErrorCode = error, Mechanisms = Mechanisms });
    }
}
