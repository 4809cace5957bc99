namespace Ferry.Broker.Security.Permissions;

/// <summary>
/// Which permissions an AMQP user has in a vhost, decided once when a connection opens the vhost. Without
/// authorization (<c>Security:Authorization</c> false) everyone has full rights everywhere. With it: users tagged
/// administrator have full rights in every vhost (the contract's super user); others what <see cref="IPermissionStore"/>
/// grants them, or no access at all; the built-in default user (guest, not in the user store) has full rights on
/// <c>/</c>, as RabbitMQ's bootstrap gives it, unless permissions were set for it.
/// </summary>
public sealed class AmqpAuthorizer(bool enabled, IPermissionStore permissions, IUserStore users)
{
    public bool Enabled => enabled;

    public IPermissionStore Permissions => permissions;

    /// <summary>The user's permissions in the vhost, or null: no access (connection.open is refused).</summary>
    public VhostPermission? Open(string user, string vhost)
    {
        if (!enabled) return VhostPermission.Full(vhost, user);
        var stored = users.Find(user);
        if (stored is { IsAdministrator: true }) return VhostPermission.Full(vhost, user);
        if (permissions.Find(vhost, user) is { } granted) return granted;
        return stored is null && vhost == "/" ? VhostPermission.Full(vhost, user) : null;
    }
}
