using Ferry.Broker.Security;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/users</c> at RabbitMQ's management paths and shapes: <c>PUT /api/users/NAME</c> with
/// <c>{"password": "...", "tags": "administrator,monitoring"}</c>. Answers never carry a password or key.
/// </summary>
internal static class UserEndpoints
{
    public static IEndpointRouteBuilder MapUserEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/users", (IUserStore users) =>
            AdminResults.Json(users.All.Select(Describe).ToList(), FerryJsonContext.Api.ListUserInfo));

        endpoints.MapGet("/api/users/{name}", (string name, IUserStore users) =>
            users.Find(name) is { } user ? AdminResults.Json(Describe(user), FerryJsonContext.Api.UserInfo) : AdminResults.NotFound($"No user '{name}'."));

        endpoints.MapPut("/api/users/{name}", async Task<IResult> (string name, HttpRequest request, IUserStore users) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.PutUserRequest).ConfigureAwait(false);
            if (error is not null) return error;
            if (string.IsNullOrEmpty(body!.Password)) return AdminResults.BadRequest("A password is required.");
            if (PeerPrincipal.IsReserved(name)) return AdminResults.BadRequest($"User names starting with '__' are reserved for the cluster's own links.");
            var tags = (body.Tags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (tags.FirstOrDefault(t => !User.KnownTags.Contains(t, StringComparer.Ordinal)) is { } unknown)
                return AdminResults.BadRequest($"Unknown tag '{unknown}': one of {string.Join(", ", User.KnownTags)}.");
            bool existed = users.Find(name) is not null;
            var user = User.Create(name, body.Password, tags);
            await users.PutAsync(user, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return AdminResults.Json(Describe(user), FerryJsonContext.Api.UserInfo, existed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
        });

        endpoints.MapDelete("/api/users/{name}", async Task<IResult> (string name, IUserStore users, CancellationToken cancellationToken) =>
            await users.DeleteAsync(name, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : AdminResults.NotFound($"No user '{name}'."));
        return endpoints;
    }

    private static UserInfo Describe(User user) => new(user.Name, [.. user.Tags],
        [.. user.Credentials.Select(c => c.Mechanism == ScramMechanism.Sha512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256")]);
}
