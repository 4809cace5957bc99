using Ferry.Broker.Security;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// AlterUserScramCredentials (KIP-554): the client sends the salt, the iteration count and the salted password it
/// computed; Ferry keeps the stored and server keys made from them. A user left with no credential is removed. Users
/// created this way have no tags.
/// </summary>
public sealed class AlterUserScramCredentialsHandler(IUserStore users) : KafkaHandler<AlterUserScramCredentialsRequest>
{
    // Kafka's bounds: fewer iterations are too cheap to guess against, more make every login slow.
    private const int MinIterations = 4096;
    private const int MaxIterations = 16384;

    public override short ApiKey => ApiKeys.AlterUserScramCredentials;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AlterUserScramCredentialsRequest request)
    {
        var response = new AlterUserScramCredentialsResponse();
        bool allowed = ScramCredentialAccess.Allowed(context.Session, users);
        var names = request.Deletions.Select(d => d.Name).Concat(request.Upsertions.Select(u => u.Name)).ToList();
        foreach (string name in names.Distinct(StringComparer.Ordinal))
        {
            var deletions = request.Deletions.Where(d => d.Name == name).ToList();
            var upsertions = request.Upsertions.Where(u => u.Name == name).ToList();
            var (error, message) = allowed ? await AlterAsync(name, deletions, upsertions).ConfigureAwait(false) : (ErrorCodes.ClusterAuthorizationFailed, "Only an administrator may alter credentials.");
            response.Results.Add(new AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult { User = name, ErrorCode = error, ErrorMessage = message });
        }
        return response;
    }

    private async ValueTask<(short, string?)> AlterAsync(string name, List<AlterUserScramCredentialsRequest.ScramCredentialDeletion> deletions,
        List<AlterUserScramCredentialsRequest.ScramCredentialUpsertion> upsertions)
    {
        if (name.Length == 0) return (ErrorCodes.UnacceptableCredential, "Username must not be empty");
        if (PeerPrincipal.IsReserved(name)) return (ErrorCodes.UnacceptableCredential, "Usernames starting with '__' are reserved for the cluster's own links");
        var mechanisms = deletions.Select(d => d.Mechanism).Concat(upsertions.Select(u => u.Mechanism)).ToList();
        if (mechanisms.Distinct().Count() != mechanisms.Count) return (ErrorCodes.DuplicateResource, "A user credential cannot be altered twice in the same request");
        foreach (sbyte mechanism in mechanisms)
        {
            if (!ScramCredentialAccess.TryFromKafka(mechanism, out _)) return (ErrorCodes.UnsupportedSaslMechanism, "Unknown SCRAM mechanism");
        }
        foreach (var upsertion in upsertions)
        {
            if (upsertion.Iterations < MinIterations || upsertion.Iterations > MaxIterations)
                return (ErrorCodes.UnacceptableCredential, $"Iterations must be between {MinIterations} and {MaxIterations}");
            if (upsertion.Salt.Length == 0 || upsertion.SaltedPassword.Length == 0) return (ErrorCodes.UnacceptableCredential, "Salt and salted password are required");
        }

        var existing = users.Find(name);
        var credentials = existing?.Credentials.ToList() ?? [];
        foreach (var deletion in deletions)
        {
            ScramCredentialAccess.TryFromKafka(deletion.Mechanism, out var mechanism);
            if (credentials.RemoveAll(c => c.Mechanism == mechanism) == 0) return (ErrorCodes.ResourceNotFound, "Attempt to delete a user credential that does not exist");
        }
        foreach (var upsertion in upsertions)
        {
            ScramCredentialAccess.TryFromKafka(upsertion.Mechanism, out var mechanism);
            credentials.RemoveAll(c => c.Mechanism == mechanism);
            credentials.Add(ScramCredential.FromSaltedPassword(mechanism, upsertion.Salt, upsertion.Iterations, upsertion.SaltedPassword));
        }
        try
        {
            if (credentials.Count == 0) await users.DeleteAsync(name).ConfigureAwait(false);
            else await users.PutAsync(new User(name, existing?.Tags ?? [], credentials)).ConfigureAwait(false);
        }
        catch (SecurityChangeRefusedException refused)
        {
            return (refused.Unavailable ? ErrorCodes.RequestTimedOut : ErrorCodes.UnacceptableCredential, refused.Message);
        }
        return (ErrorCodes.None, null);
    }
}
