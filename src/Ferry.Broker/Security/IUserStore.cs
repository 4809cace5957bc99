namespace Ferry.Broker.Security;

/// <summary>
/// The users every listener authenticates against. One node keeps them in a file (<see cref="FileUserStore"/>);
/// a cluster keeps them in the metadata quorum behind this same interface (the writes go to the quorum's leader,
/// hence asynchronous; the reads are of the locally applied state, never waiting).
/// </summary>
public interface IUserStore
{
    /// <summary>True once any user exists: from then on the admin API asks who is calling.</summary>
    bool HasUsers { get; }

    IReadOnlyList<User> All { get; }

    /// <summary>Changes on every put and delete, so caches of decisions that depend on users (tags) start over.</summary>
    long Version { get; }

    User? Find(string name);

    /// <summary>Adds or replaces a user, durably (and, on a cluster, applied on this node) before it completes.</summary>
    ValueTask PutAsync(User user, CancellationToken cancellationToken = default);

    /// <summary>Removes a user durably; false if there was none.</summary>
    ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}
