using Ferry.Broker.Security;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/vhosts</c> and <c>/api/permissions</c> at RabbitMQ's management paths and shapes: <c>PUT /api/vhosts/NAME</c>
/// (201 created, 204 there already), <c>PUT /api/permissions/VHOST/USER</c> with <c>{"configure": RE, "write": RE,
/// "read": RE}</c>; names URL-encoded, <c>/</c> as <c>%2F</c>.
/// </summary>
internal static class VhostEndpoints
{
    public static IEndpointRouteBuilder MapVhostEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/vhosts", (VirtualHostRegistry vhosts) =>
            AdminResults.Json(vhosts.Names.Select(n => Describe(vhosts, n)).OfType<VhostInfo>().ToList(), FerryJsonContext.Api.ListVhostInfo));

        endpoints.MapGet("/api/vhosts/{name}", (string name, VirtualHostRegistry vhosts) =>
            Describe(vhosts, Uri.UnescapeDataString(name)) is { } info ? AdminResults.Json(info, FerryJsonContext.Api.VhostInfo) : UnknownVhost(Uri.UnescapeDataString(name)));

        endpoints.MapPut("/api/vhosts/{name}", async Task<IResult> (string name, IVirtualHostCatalog vhosts, CancellationToken cancellationToken) =>
        {
            string vhost = Uri.UnescapeDataString(name);
            if (!VirtualHostRegistry.IsValidName(vhost)) return AdminResults.BadRequest("A vhost name is 1 to 255 characters.");
            return await vhosts.AddAsync(vhost, cancellationToken).ConfigureAwait(false) ? Results.StatusCode(StatusCodes.Status201Created) : Results.NoContent();
        });

        endpoints.MapDelete("/api/vhosts/{name}", async Task<IResult> (string name, IVirtualHostCatalog vhosts, CancellationToken cancellationToken) =>
        {
            string vhost = Uri.UnescapeDataString(name);
            if (vhost == VirtualHostRegistry.Default) return AdminResults.BadRequest("The default vhost / cannot be deleted.");
            return await vhosts.DeleteAsync(vhost, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : UnknownVhost(vhost);
        });

        endpoints.MapGet("/api/permissions", (IPermissionStore permissions) =>
            AdminResults.Json(permissions.All.Select(Describe).ToList(), FerryJsonContext.Api.ListPermissionInfo));

        endpoints.MapGet("/api/permissions/{vhost}/{user}", (string vhost, string user, IPermissionStore permissions) =>
            permissions.Find(Uri.UnescapeDataString(vhost), Uri.UnescapeDataString(user)) is { } found
                ? AdminResults.Json(Describe(found), FerryJsonContext.Api.PermissionInfo)
                : AdminResults.NotFound("No such permission."));

        endpoints.MapPut("/api/permissions/{vhost}/{user}", async Task<IResult> (string vhost, string user, HttpRequest request,
            VirtualHostRegistry vhosts, IUserStore users, IPermissionStore permissions) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.PermissionInfo).ConfigureAwait(false);
            if (error is not null) return error;
            string host = Uri.UnescapeDataString(vhost), name = Uri.UnescapeDataString(user);
            if (!vhosts.TryGet(host, out _)) return UnknownVhost(host);
            if (users.Find(name) is null) return AdminResults.BadRequest($"No user '{name}'.");
            if (body!.Configure is null || body.Write is null || body.Read is null) return AdminResults.BadRequest("configure, write and read are required.");
            foreach (string pattern in new[] { body.Configure, body.Write, body.Read })
                if (VhostPermission.Invalid(pattern) is { } invalid) return AdminResults.BadRequest($"'{pattern}' is no regular expression: {invalid}");
            bool existed = permissions.Find(host, name) is not null;
            await permissions.PutAsync(new VhostPermission(host, name, body.Configure, body.Write, body.Read), request.HttpContext.RequestAborted).ConfigureAwait(false);
            return existed ? Results.NoContent() : Results.StatusCode(StatusCodes.Status201Created);
        });

        endpoints.MapDelete("/api/permissions/{vhost}/{user}", async Task<IResult> (string vhost, string user, IPermissionStore permissions, CancellationToken cancellationToken) =>
            await permissions.DeleteAsync(Uri.UnescapeDataString(vhost), Uri.UnescapeDataString(user), cancellationToken).ConfigureAwait(false)
                ? Results.NoContent() : AdminResults.NotFound("No such permission."));
        return endpoints;
    }

    private static IResult UnknownVhost(string name) => AdminResults.NotFound($"Vhost '{name}' does not exist.");

    private static VhostInfo? Describe(VirtualHostRegistry vhosts, string name) =>
        vhosts.TryGet(name, out var broker) ? new VhostInfo(name, broker.Queues.Count(), broker.Exchanges.Count()) : null;

    private static PermissionInfo Describe(VhostPermission p) => new(p.User, p.Vhost, p.Configure, p.Write, p.Read);
}
