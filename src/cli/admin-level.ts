import { nonNegativeInt, requireConfig, UsageError, withCluster, type Command } from './command.js';

export const adminLevel: Command = {
  name: 'admin-level',
  help: `admin-level USERNAME LEVEL
                    Set an account's admin level: 0 player, 1..127 moderator/GM (accounts.admin_level).
                    An unknown username exits 1 naming it.`,
  run: (args) => {
    const [username, levelText, extra] = args.positionals;
    if (!username || levelText === undefined || extra !== undefined) throw new UsageError('usage: admin-level USERNAME LEVEL');
    const level = nonNegativeInt(levelText, 'LEVEL');
    return withCluster(requireConfig(args), async (db) => {
      // Strong: an operator acting right after a register elsewhere must find the account.
      const account = await db.accounts.byUsername(username, { consistency: 'strong' });
      if (!account) {
        console.error(`admin-level: unknown username "${username}"`);
        return 1;
      }
      const r = await db.accounts.setAdminLevel(account.accountId, level);
      console.log(`account ${account.username} (${r.accountId}): admin level ${r.previous} -> ${r.adminLevel}`);
      return 0;
    });
  },
};
