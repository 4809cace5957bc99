using System.Text;
using Ferry.Broker.Security;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Logging;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// SaslAuthenticate: one step of the mechanism SaslHandshake chose. PLAIN (RFC 4616) in one step, checked against the
/// user's stored SCRAM key; SCRAM-SHA-256/512 in two (<see cref="ScramServer"/>). A failure answers
/// SASL_AUTHENTICATION_FAILED and the connection closes after the answer, as Kafka does. In a cluster, SCRAM-SHA-512
/// also knows the <see cref="PeerPrincipal"/> (PLAIN never does: the peer proves the secret without sending it).
/// </summary>
public sealed partial class SaslAuthenticateHandler(IUserStore users, ILogger<SaslAuthenticateHandler> logger, PeerPrincipal? peer = null)
    : KafkaHandler<SaslAuthenticateRequest>
{
    public override short ApiKey => ApiKeys.SaslAuthenticate;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, SaslAuthenticateRequest request)
    {
        var session = context.Session;
        if (session is null || session.Authenticated || session.Mechanism is null)
        {
            session?.Fail();
            return Answer(ErrorCodes.IllegalSaslState, "SaslAuthenticate is only valid after SaslHandshake and before authentication", []);
        }

        string? user;
        bool isPeer = false;
        byte[] response = [];
        if (session.Mechanism == "PLAIN")
        {
            user = Plain(request.AuthBytes);
        }
        else
        {
            if (!ScramServer.TryParseMechanism(session.Mechanism, out var mechanism)) return Answer(ErrorCodes.IllegalSaslState, "no such mechanism", []);
            var scram = session.Exchange as ScramServer ?? new ScramServer(mechanism, users, peer);
            session.Exchange = scram;
            switch (scram.Step(request.AuthBytes, out response))
            {
                case ScramStep.Continue:
                    return Answer(ErrorCodes.None, null, response);
                case ScramStep.Succeeded:
                    user = scram.User;
                    isPeer = scram.IsPeer;
                    break;
                default:
                    user = null;
                    break;
            }
        }

        if (user is null)
        {
            session.Fail();
            AuthenticationFailed(logger, context.ConnectionId, session.Mechanism);
            return Answer(ErrorCodes.SaslAuthenticationFailed,
                $"Authentication failed during authentication due to invalid credentials with SASL mechanism {session.Mechanism}", []);
        }
        session.Authenticate(user, isPeer);
        return Answer(ErrorCodes.None, null, response);
    }

    /// <summary>[authzid] NUL authcid NUL password; an authzid other than the user is not allowed.</summary>
    private string? Plain(byte[] message)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(message);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        string[] parts = text.Split('\0');
        if (parts.Length != 3 || parts[1].Length == 0 || (parts[0].Length > 0 && parts[0] != parts[1]) || PeerPrincipal.IsReserved(parts[1])) return null;
        return users.Find(parts[1]) is { } found && found.PasswordMatches(parts[2]) ? found.Name : null;
    }

    private static ValueTask<IKafkaMessage?> Answer(short error, string? message, byte[] authBytes) =>
        new(new SaslAuthenticateResponse { ErrorCode = error, ErrorMessage = message, AuthBytes = authBytes });

    // The user name is not logged either: a password typed into the user field would end up in the log.
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Connection {ConnectionId} failed SASL authentication with {Mechanism}; closing it")]
    private static partial void AuthenticationFailed(ILogger logger, string connectionId, string mechanism);
}
