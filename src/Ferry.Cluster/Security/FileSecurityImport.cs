using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Security;

/// <summary>
/// The one-time import of what a node stored in its own files before it was started clustered (users, ACLs and
/// permissions under <c>DATA/security</c>, its vhost list) into the metadata quorum: what the cluster lacks is added
/// (a user the cluster already has keeps the cluster's credentials), then a marker under <c>DATA/cluster</c> says it
/// was done, and the files are not read again. An entry the controller refuses (a permission for a user that exists
/// nowhere) is skipped with a warning.
/// </summary>
public sealed partial class FileSecurityImport(string dataDirectory, string clusterDirectory, ILogger<FileSecurityImport> logger)
{
    private string MarkerPath => Path.Combine(clusterDirectory, "security-imported");

    public bool Done => File.Exists(MarkerPath);

    /// <summary>Imports unless done before; a <see cref="SecurityChangeRefusedException"/> that is <c>Unavailable</c> leaves it to be run again.</summary>
    public async Task RunAsync(QuorumUserStore users, IAclStore acls, IPermissionStore permissions, IVirtualHostCatalog catalog,
        VirtualHostRegistry? vhosts, CancellationToken cancellationToken)
    {
        if (Done) return;
        int imported = 0;
        foreach (var user in new FileUserStore(dataDirectory).All)
        {
            if (await TryAsync("user " + user.Name, () => users.CreateIfAbsentAsync(user, cancellationToken)).ConfigureAwait(false)) imported++;
        }
        var bindings = new FileAclStore(dataDirectory).All;
        if (bindings.Count > 0 && await TryAsync("ACLs", async () =>
            {
                int before = acls.All.Count;
                await acls.AddAsync(bindings, cancellationToken).ConfigureAwait(false);
                return acls.All.Count > before;
            }).ConfigureAwait(false)) imported++;
        foreach (string vhost in vhosts?.Names ?? [])
        {
            if (vhost != VirtualHostRegistry.Default && await TryAsync("vhost " + vhost, () => catalog.AddAsync(vhost, cancellationToken).AsTask()).ConfigureAwait(false))
                imported++;
        }
        foreach (var permission in new FilePermissionStore(dataDirectory).All)
        {
            if (permissions.Find(permission.Vhost, permission.User) is not null) continue;
            if (await TryAsync($"permission of {permission.User} in {permission.Vhost}", async () =>
                {
                    await permissions.PutAsync(permission, cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false)) imported++;
        }
        Directory.CreateDirectory(clusterDirectory);
        await File.WriteAllTextAsync(MarkerPath, "Users, ACLs, vhosts and permissions of this node's files were imported into the metadata quorum.\n",
            cancellationToken).ConfigureAwait(false);
        Imported(logger, imported);
    }

    private async Task<bool> TryAsync(string what, Func<Task<bool>> import)
    {
        try
        {
            return await import().ConfigureAwait(false);
        }
        catch (SecurityChangeRefusedException refused) when (!refused.Unavailable)
        {
            ImportRefused(logger, what, refused.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Imported {Count} file-stored users, ACL sets, vhosts and permissions into the metadata quorum (once; the files are not read again)")]
    private static partial void Imported(ILogger logger, int count);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Warning, Message = "The file-stored {What} was not imported into the metadata quorum: {Reason}")]
    private static partial void ImportRefused(ILogger logger, string what, string reason);
}
