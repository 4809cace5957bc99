using Ferry.Broker.Security.Acls;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/acls</c>: the Kafka ACLs. <c>GET</c> lists them, <c>POST</c> adds one (<see cref="AclInfo"/>), <c>DELETE</c>
/// removes those its query matches (<c>?principal=User:alice&amp;resourceType=TOPIC</c>; what is not given matches
/// anything). Works whether or not <c>Security:Authorization</c> is on, so ACLs can be written before it is.
/// </summary>
internal static class AclEndpoints
{
    public static IEndpointRouteBuilder MapAclEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/acls", (IAclStore acls) => AdminResults.Json(acls.All.Select(Describe).ToList(), FerryJsonContext.Api.ListAclInfo));

        endpoints.MapPost("/api/acls", async Task<IResult> (HttpRequest request, IAclStore acls) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.AclInfo).ConfigureAwait(false);
            if (error is not null) return error;
            if (!AclNames.TryParse(body!.ResourceType, out AclResourceType type) || !AclNames.TryParse(body.PatternType ?? "LITERAL", out AclPatternType pattern)
                || !AclNames.TryParse(body.Operation, out AclOperation operation) || !AclNames.TryParse(body.Permission ?? "ALLOW", out AclPermission permission))
                return AdminResults.BadRequest("resourceType, patternType, operation or permission is not one of Kafka's names.");
            var binding = new AclBinding(type, body.ResourceName ?? "", pattern, body.Principal ?? "", string.IsNullOrEmpty(body.Host) ? "*" : body.Host, operation, permission);
            if (binding.Invalid() is { } invalid) return AdminResults.BadRequest(invalid);
            await acls.AddAsync([binding], request.HttpContext.RequestAborted).ConfigureAwait(false);
            return AdminResults.Json(Describe(binding), FerryJsonContext.Api.AclInfo, StatusCodes.Status201Created);
        });

        endpoints.MapDelete("/api/acls", async Task<IResult> (HttpRequest request, IAclStore acls) =>
        {
            var q = request.Query;
            if (!Filter(q["resourceType"], AclResourceType.Any, out var type) | !Filter(q["patternType"], AclPatternType.Any, out var pattern)
                | !Filter(q["operation"], AclOperation.Any, out var operation) | !Filter(q["permission"], AclPermission.Any, out var permission))
                return AdminResults.BadRequest("resourceType, patternType, operation or permission is not one of Kafka's names.");
            var filter = new AclFilter(type, NullIfEmpty(q["resourceName"]), pattern, NullIfEmpty(q["principal"]), NullIfEmpty(q["host"]), operation, permission);
            if (filter.Invalid() is { } invalid) return AdminResults.BadRequest(invalid);
            var removed = await acls.RemoveAsync([filter], request.HttpContext.RequestAborted).ConfigureAwait(false);
            return AdminResults.Json(removed[0].Select(Describe).ToList(), FerryJsonContext.Api.ListAclInfo);
        });
        return endpoints;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static bool Filter<T>(string? value, T any, out T parsed) where T : struct, Enum
    {
        parsed = any;
        return string.IsNullOrEmpty(value) || AclNames.TryParse(value, out parsed);
    }

    private static AclInfo Describe(AclBinding a) => new(AclNames.Of(a.ResourceType), a.ResourceName, AclNames.Of(a.PatternType), a.Principal, a.Host,
        AclNames.Of(a.Operation), AclNames.Of(a.Permission));
}

/// <summary>Kafka's spelling of the ACL enums (TRANSACTIONAL_ID, DESCRIBE_CONFIGS), read case- and separator-insensitively.</summary>
internal static class AclNames
{
    public static bool TryParse<T>(string? value, out T parsed) where T : struct, Enum
    {
        parsed = default;
        return value is not null && Enum.TryParse(value.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out parsed)
            && Enum.IsDefined(parsed) && !char.IsDigit(value[0]);
    }

    /// <summary>PascalCase to Kafka's UPPER_SNAKE: DescribeConfigs → DESCRIBE_CONFIGS.</summary>
    public static string Of<T>(T value) where T : struct, Enum
    {
        string name = value.ToString();
        var upper = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) upper.Append('_');
            upper.Append(char.ToUpperInvariant(name[i]));
        }
        return upper.ToString();
    }
}
