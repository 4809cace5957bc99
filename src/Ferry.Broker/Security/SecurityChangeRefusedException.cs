namespace Ferry.Broker.Security;

/// <summary>
/// A change to users, ACLs, vhosts or permissions that did not happen: on a cluster, the metadata quorum refused it
/// (<see cref="Unavailable"/> false: the request itself is wrong) or no quorum answered in time (true: try again).
/// A single node's file stores never throw it.
/// </summary>
public sealed class SecurityChangeRefusedException(string message, bool unavailable) : Exception(message)
{
    public bool Unavailable { get; } = unavailable;
}
