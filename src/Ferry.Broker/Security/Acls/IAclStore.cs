namespace Ferry.Broker.Security.Acls;

/// <summary>
/// The Kafka ACLs. One node keeps them in a file (<see cref="FileAclStore"/>); a cluster keeps them in the metadata
/// quorum behind this same interface.
/// </summary>
public interface IAclStore
{
    /// <summary>An immutable snapshot: readers never lock.</summary>
    IReadOnlyList<AclBinding> All { get; }

    /// <summary>Changes on every add and remove, so caches of decisions know when to start over.</summary>
    long Version { get; }

    /// <summary>Adds bindings (one already there is kept once), durably before it returns.</summary>
    ValueTask AddAsync(IReadOnlyList<AclBinding> bindings, CancellationToken cancellationToken = default);

    /// <summary>Removes what each filter matches, durably; returns, per filter, the bindings it removed.</summary>
    ValueTask<IReadOnlyList<IReadOnlyList<AclBinding>>> RemoveAsync(IReadOnlyList<AclFilter> filters, CancellationToken cancellationToken = default);
}
