import { Alert, Button, Group } from '@mantine/core';
import { IconAlertTriangle, IconLock } from '@tabler/icons-react';
import { useSyncExternalStore } from 'react';
import { orgNoticeStore } from '../api/client';

/**
 * The member-facing message of issue 30: when the organization is suspended by the operator of
 * the install (every request answers 403 `organization_suspended`), or a plan limit was reached
 * (`plan_limit_reached`: the limit, the usage and what to do), said once above the page, in words.
 */
export function OrgStatusBanner() {
  const notice = useSyncExternalStore(orgNoticeStore.subscribe, orgNoticeStore.get);
  if (!notice) return null;
  const suspended = notice.code === 'organization_suspended';
  return (
    <Alert
      role={suspended ? 'alert' : 'status'}
      color={suspended ? 'red' : 'yellow'}
      icon={suspended ? <IconLock size={18} /> : <IconAlertTriangle size={18} />}
      title={suspended ? 'This organization is suspended' : 'A plan limit is reached'}
      mb="md"
      data-testid="org-status-banner"
    >
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <span>{notice.message}</span>
        {!suspended && (
          <Button size="xs" variant="default" onClick={() => orgNoticeStore.set(null)}>
            Dismiss
          </Button>
        )}
      </Group>
    </Alert>
  );
}
