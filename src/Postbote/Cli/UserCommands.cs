using System.CommandLine;
using Postbote.Security.Users;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote user …</c>: manages the accounts of SMTP AUTH in <c>{data_dir}/users</c> (<see cref="FileUserStore"/>).
/// A running server sees the change on its next AUTH, without a restart. Passwords are never taken from the command
/// line (where <c>ps</c> and shell history would show them): from the terminal without echo, asked twice, or else from
/// the first line of standard input. Exit codes: 0 success, 1 failure (unknown or existing user, passwords differ,
/// I/O error, no data directory), 2 usage.
/// </summary>
internal static class UserCommands
{
    /// <summary>Builds the <c>user</c> command and its subcommands.</summary>
    /// <param name="inDataDirectory">Runs an action with the data directory: (parse result, whether the directory must
    /// already exist, action) → exit code.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error (prompts and errors).</param>
    /// <returns>The command.</returns>
    public static Command Build(Func<ParseResult, bool, Func<string, int>, int> inDataDirectory, TextWriter stdout, TextWriter stderr)
    {
        var user = new Command("user", "manage SMTP AUTH users in {data_dir}/users; passwords are read from the terminal or the first line of stdin");
        var name = new Argument<string>("NAME") { Description = "the user name (the AUTH login)" };
        var address = new Option<string[]>("--address")
        {
            Description = "a sender address the user may use in MAIL FROM (repeat for more)",
            HelpName = "ADDR",
            Arity = ArgumentArity.OneOrMore,
        };
        var anySender = new Option<bool>("--any-sender") { Description = "the user may send as any address" };

        var add = new Command("add", "add a user") { name, address, anySender };
        add.SetAction(r => inDataDirectory(r, false, dir => Run(dir, stderr,
            store => Add(store, r.GetValue(name)!, r.GetValue(address) ?? [], r.GetValue(anySender), Console.In, stderr))));
        var passwd = new Command("passwd", "set a user's password") { name };
        passwd.SetAction(r => inDataDirectory(r, true, dir => Run(dir, stderr, store => Passwd(store, r.GetValue(name)!, Console.In, stderr))));
        var remove = new Command("remove", "remove a user") { name };
        remove.SetAction(r => inDataDirectory(r, true, dir => Run(dir, stderr, store => Remove(store, r.GetValue(name)!, stderr))));
        var list = new Command("list", "list users: name, addresses, any-sender");
        list.SetAction(r => inDataDirectory(r, true, dir => Run(dir, stderr, store => List(store, stdout))));
        user.Subcommands.Add(add);
        user.Subcommands.Add(passwd);
        user.Subcommands.Add(remove);
        user.Subcommands.Add(list);
        return user;
    }

    /// <summary>Runs a <c>user</c> command on the user file of a data directory.</summary>
    /// <param name="dataDirectory">The data directory holding the <c>users</c> file.</param>
    /// <param name="stderr">Where I/O errors are reported.</param>
    /// <param name="command">The command.</param>
    /// <returns>The command's exit code; 1 on an I/O error.</returns>
    private static int Run(string dataDirectory, TextWriter stderr, Func<FileUserStore, int> command)
    {
        var store = new FileUserStore(dataDirectory);
        try
        {
            return command(store);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            stderr.WriteLine($"postbote: {store.FilePath}: {e.Message}");
            return 1;
        }
    }

    private static int Add(FileUserStore store, string name, string[] addressOptions, bool anySender, TextReader stdin, TextWriter stderr)
    {
        if (!UserRecord.IsValidName(name)) return UsageError(stderr, $"invalid user name '{name}'");
        var addresses = new List<string>();
        foreach (string address in addressOptions)
        {
            if (!UserRecord.IsValidName(address) || !address.Contains('@', StringComparison.Ordinal))
                return UsageError(stderr, $"invalid address '{address}'");
            if (!addresses.Contains(address, StringComparer.OrdinalIgnoreCase)) addresses.Add(address);
        }
        if (store.List().Any(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            stderr.WriteLine($"postbote: user {name} exists; use 'postbote user passwd {name}' to change the password");
            return 1;
        }
        if (!TryReadNewPassword(stdin, stderr, out string? password)) return 1;
        UserRecord user = Create(name, password, addresses, anySender);
        store.AddOrUpdate(user);
        stderr.WriteLine($"postbote: user {name} added");
        return 0;
    }

    private static int Passwd(FileUserStore store, string name, TextReader stdin, TextWriter stderr)
    {
        UserRecord? existing = store.List().FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase));
        if (existing is null)
        {
            stderr.WriteLine($"postbote: no user {name}");
            return 1;
        }
        if (!TryReadNewPassword(stdin, stderr, out string? password)) return 1;
        store.AddOrUpdate(Create(existing.Name, password, existing.Addresses, existing.AnySender));
        stderr.WriteLine($"postbote: password of {existing.Name} changed");
        return 0;
    }

    private static int Remove(FileUserStore store, string name, TextWriter stderr)
    {
        if (!store.Remove(name))
        {
            stderr.WriteLine($"postbote: no user {name}");
            return 1;
        }
        stderr.WriteLine($"postbote: user {name} removed");
        return 0;
    }

    private static int List(FileUserStore store, TextWriter stdout)
    {
        IReadOnlyList<UserRecord> users = store.List();
        if (users.Count == 0)
        {
            stdout.WriteLine("no users");
            return 0;
        }
        stdout.WriteLine("NAME\tADDRESSES\tANY-SENDER");
        foreach (UserRecord user in users)
        {
            string addresses = user.Addresses.Count == 0 ? "-" : string.Join(',', user.Addresses);
            stdout.WriteLine($"{user.Name}\t{addresses}\t{(user.AnySender ? "any-sender" : "-")}");
        }
        return 0;
    }

    private static UserRecord Create(string name, string password, IReadOnlyList<string> addresses, bool anySender) =>
        new(name, PasswordHasher.Hash(password), PasswordHasher.DeriveScram(password, PasswordHasher.ScramIterations),
            addresses.ToArray(), anySender);

    private static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine("postbote: " + message);
        stderr.WriteLine("see 'postbote user add --help'");
        return 2;
    }

    /// <summary>Reads the new password: twice from the terminal without echo, or the first line of redirected input.</summary>
    private static bool TryReadNewPassword(TextReader stdin, TextWriter stderr,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? password)
    {
        password = null;
        string? first;
        if (IsTerminal(stdin))
        {
            first = ReadHidden(stderr, "Password: ");
            string? second = ReadHidden(stderr, "Repeat password: ");
            if (first != second)
            {
                stderr.WriteLine("postbote: the passwords differ");
                return false;
            }
        }
        else
        {
            first = stdin.ReadLine();
        }
        if (string.IsNullOrEmpty(first))
        {
            stderr.WriteLine("postbote: empty password");
            return false;
        }
        if (!SaslPrep.TryPrepare(first, out _, out string? error))
        {
            stderr.WriteLine("postbote: " + error);
            return false;
        }
        password = first;
        return true;
    }

    private static bool IsTerminal(TextReader stdin) => ReferenceEquals(stdin, Console.In) && !Console.IsInputRedirected;

    private static string? ReadHidden(TextWriter stderr, string prompt)
    {
        stderr.Write(prompt);
        stderr.Flush();
        var buffer = new System.Text.StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (buffer.Length > 0) buffer.Length--;
                continue;
            }
            if (key.KeyChar == '\u0004' && buffer.Length == 0) // Ctrl+D on an empty line: end of input
            {
                stderr.WriteLine();
                return null;
            }
            if (!char.IsControl(key.KeyChar)) buffer.Append(key.KeyChar);
        }
        stderr.WriteLine();
        return buffer.ToString();
    }
}
