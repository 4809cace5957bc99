using Ferry.Broker.Security;
using Ferry.Kafka.Security;

namespace Ferry.Kafka.Handlers;

/// <summary>Who may read and change SCRAM credentials over Kafka, and Kafka's numbers for the mechanisms.</summary>
internal static class ScramCredentialAccess
{
    /// <summary>
    /// An administrator; or anyone while no user exists at all (the first user can be created with Kafka's own tools).
    /// Kafka without an authorizer lets anyone, which on a PLAINTEXT port would let anyone give themselves a login.
    /// </summary>
    public static bool Allowed(KafkaSession? session, IUserStore users) =>
        !users.HasUsers || (session is { Authenticated: true } && session.Principal.StartsWith("User:", StringComparison.Ordinal)
            && users.Find(session.Principal[5..]) is { IsAdministrator: true });

    /// <summary>ScramMechanism in Kafka's messages: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.</summary>
    public static bool TryFromKafka(sbyte value, out ScramMechanism mechanism)
    {
        mechanism = value == 2 ? ScramMechanism.Sha512 : ScramMechanism.Sha256;
        return value is 1 or 2;
    }

    public static sbyte ToKafka(ScramMechanism mechanism) => mechanism == ScramMechanism.Sha512 ? (sbyte)2 : (sbyte)1;
}
