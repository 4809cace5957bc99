using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry users list|add|delete</c> over the admin API's <c>/api/users</c>.</summary>
internal static class UsersCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List users with their tags and SASL mechanisms").WithAction(async (_, context, ct) =>
        {
            var users = await context.Client.GetAsync("api/users", FerryJsonContext.Api.ListUserInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(users, FerryJsonContext.Api.ListUserInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("USER", "TAGS", "MECHANISMS");
            foreach (var u in users) table.Row(u.Name, string.Join(",", u.Tags), string.Join(",", u.Mechanisms));
            context.Write(table);
            return ExitCodes.Ok;
        });

        var name = new Argument<string>("name") { Description = "User name" };
        var tags = new Option<string>("--tags") { Description = "Comma-separated: administrator, monitoring, management", HelpName = "TAGS" };
        var add = new Command("add", "Create a user, or set an existing user's password and tags; the password is read from stdin") { name, tags };
        add.WithAction(async (parse, context, ct) =>
        {
            string user = parse.GetValue(name)!;
            // From stdin, never an argument: arguments are visible to every process on the machine.
            string? password = (await Console.In.ReadLineAsync(ct).ConfigureAwait(false))?.TrimEnd('\r');
            if (string.IsNullOrEmpty(password)) throw new UsageException("give the password on stdin (echo \"$PASSWORD\" | ferry users add NAME)");
            var result = await context.Client.SendAsync(HttpMethod.Put, $"api/users/{AdminClient.Escape(user)}",
                new PutUserRequest(password, parse.GetValue(tags) ?? ""), FerryJsonContext.Api.PutUserRequest, FerryJsonContext.Api.UserInfo, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(result, FerryJsonContext.Api.UserInfo);
            else context.WriteLine($"User {result.Name} saved (tags: {(result.Tags.Count == 0 ? "none" : string.Join(",", result.Tags))}).");
            return ExitCodes.Ok;
        });

        var deleteName = new Argument<string>("name") { Description = "User name" };
        var delete = new Command("delete", "Delete a user") { deleteName };
        delete.WithAction(async (parse, context, ct) =>
        {
            string user = parse.GetValue(deleteName)!;
            await context.Client.SendAsync(HttpMethod.Delete, $"api/users/{AdminClient.Escape(user)}", ct).ConfigureAwait(false);
            Done(context, $"Deleted user {user}.");
            return ExitCodes.Ok;
        });

        return new Command("users", "Manage users (Kafka SASL, AMQP, admin API)") { list, add, delete };
    }
}
