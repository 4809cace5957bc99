using System.Collections.Immutable;
using Ferry.Broker.Security;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Security;

/// <summary>
/// A cluster's users: read from the applied metadata image (lock-free), written through the controller. The users
/// the config file declares are created through the quorum if absent (<see cref="SeedAsync"/>); until that is done
/// (the quorum may not be reachable yet) this node also accepts them as configured, so that a node starting alone
/// still serves the users its file declares.
/// </summary>
public sealed class QuorumUserStore : IUserStore
{
    private readonly QuorumSecurityClient _client;
    private volatile ImmutableDictionary<string, User>? _configured;

    public QuorumUserStore(QuorumSecurityClient client, IEnumerable<User> configured)
    {
        _client = client;
        var users = configured.ToImmutableDictionary(u => u.Name, StringComparer.Ordinal);
        _configured = users.IsEmpty ? null : users;
    }

    public bool HasUsers => !_client.Image.Users.IsEmpty || _configured is not null;

    public IReadOnlyList<User> All
    {
        get
        {
            var users = _client.Image.Users;
            var pending = _configured?.Values.Where(u => !users.ContainsKey(u.Name)) ?? [];
            return [.. users.Values.Concat(pending).OrderBy(u => u.Name, StringComparer.Ordinal)];
        }
    }

    public long Version => _client.Image.Version;

    public User? Find(string name) => _client.Image.Users.GetValueOrDefault(name) ?? _configured?.GetValueOrDefault(name);

    public async ValueTask PutAsync(User user, CancellationToken cancellationToken = default) =>
        await _client.ExecuteAsync(Put(user, ifAbsent: false), cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        QuorumSecurityClient.Found(await _client.ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.DeleteUser, UserName = name },
            cancellationToken).ConfigureAwait(false));

    /// <summary>Creates each configured user the cluster does not have (one that exists keeps its password and tags); then serves only the quorum's users.</summary>
    public async Task SeedAsync(CancellationToken cancellationToken)
    {
        if (_configured is not { } configured) return;
        foreach (var user in configured.Values) await _client.ExecuteAsync(Put(user, ifAbsent: true), cancellationToken).ConfigureAwait(false);
        _configured = null;
    }

    /// <summary>Creates <paramref name="user"/> if the cluster has no user of that name (the import of file-stored users).</summary>
    public async Task<bool> CreateIfAbsentAsync(User user, CancellationToken cancellationToken) =>
        !(await _client.ExecuteAsync(Put(user, ifAbsent: true), cancellationToken).ConfigureAwait(false)).Existed;

    private static ControllerRequest Put(User user, bool ifAbsent) => new()
    {
        Operation = ControllerOperation.PutUser, UserName = user.Name, Tags = [.. user.Tags], Credentials = [.. user.Credentials], IfAbsent = ifAbsent,
    };
}
