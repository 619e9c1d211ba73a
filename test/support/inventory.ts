// The whole inventory at once, as the planner's tests take it: a run itself plans each repository as it is read.
import { ConfigDates, readRepositories, type InventorySettings } from '../../src/inventory.js'
import type { RegistryClient } from '../../src/registry/client.js'
import type { Inventory, Logger, RepositoryInventory } from '../../src/types.js'

/** Every repository the settings cover, in name order. */
export async function inventory(client: RegistryClient, settings: InventorySettings, log: Logger): Promise<Inventory> {
  const repositories: RepositoryInventory[] = []
  await readRepositories(client, settings, new ConfigDates(client), log, (repo) => {
    repositories.push(repo)
  })
  return { repositories: repositories.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) }
}
