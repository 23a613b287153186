import { ActionIcon, Badge, Button, FileButton, Group, Progress, Stack, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDownload, IconPaperclip, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api, call, type Problem, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';
import { Section, useCanEdit } from './DetailParts';

type FileItem = Schemas['File'];

const SIZE_UNITS = ['bytes', 'KB', 'MB', 'GB'];
/** "1.2 MB": a size a person reads. */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

/**
 * Uploads one file with its progress (XMLHttpRequest: fetch reports no upload progress).
 * Resolves with the stored file; rejects with the server's problem (a refused file says why).
 */
export function uploadWithProgress(
  object: string,
  id: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<FileItem> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/files?object=${encodeURIComponent(object)}&id=${encodeURIComponent(id)}`);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as FileItem);
      else reject(new ApiError(xhr.status, body as Problem));
    };
    xhr.onerror = () => reject(new ApiError(0, { title: 'The upload did not reach the server' }));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

/** Opens a short-lived download link: the browser saves the file (it is always an attachment). */
export async function download(fileId: string) {
  const link = await call(api.POST('/api/v1/files/{id}/link', { params: { path: { id: fileId } } }));
  const a = document.createElement('a');
  a.href = link.url;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

const STATUS_COLOR: Record<FileItem['status'], string> = {
  stored: 'green',
  quarantined: 'yellow',
  rejected: 'red',
  infected: 'red',
};

/**
 * A record's attachments, for any object (standard or custom): upload with progress, the list
 * (refused files with their reason), download through a short-lived link, delete.
 */
export function AttachmentsPanel({ object, id }: { object: string; id: string }) {
  const canEdit = useCanEdit();
  const me = useQuery(meQuery).data;
  const queryClient = useQueryClient();
  const key = ['files', object, id] as const;
  const files = useQuery({
    queryKey: key,
    queryFn: () => call(api.GET('/api/v1/files', { params: { query: { object, id, limit: 100 } } })),
  });
  const [progress, setProgress] = useState<{ name: string; fraction: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: key });
    void queryClient.invalidateQueries({ predicate: (q) => q.queryKey.includes('timeline') });
  };
  const remove = useMutation({
    mutationFn: (fileId: string) =>
      call(api.DELETE('/api/v1/files/{id}', { params: { path: { id: fileId } } })),
    onSuccess: refresh,
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  async function upload(file: File | null) {
    if (!file) return;
    setError(null);
    setProgress({ name: file.name, fraction: 0 });
    try {
      await uploadWithProgress(object, id, file, (fraction) => setProgress({ name: file.name, fraction }));
      notifications.show({ color: 'green', message: `${file.name} is attached` });
    } catch (e) {
      setError(e);
    } finally {
      setProgress(null);
      refresh();
    }
  }
  const list = files.data?.data ?? [];
  return (
    <Section
      title="Attachments"
      action={
        canEdit ? (
          <FileButton onChange={(f) => void upload(f)}>
            {(props) => (
              <Button
                {...props}
                size="xs"
                variant="default"
                leftSection={<IconPaperclip size={14} />}
                loading={!!progress}
              >
                Attach a file
              </Button>
            )}
          </FileButton>
        ) : null
      }
    >
      <Stack gap="xs">
        {progress && (
          <Stack gap={2} aria-live="polite">
            <Text size="sm">Uploading {progress.name}…</Text>
            <Progress value={Math.round(progress.fraction * 100)} aria-label={`Upload of ${progress.name}`} />
          </Stack>
        )}
        <ErrorAlert error={error} />
        {files.error ? <ErrorAlert error={files.error} /> : null}
        {list.length === 0 && !progress && (
          <Text size="sm" c="dimmed">
            No files yet.
          </Text>
        )}
        {list.map((f) => (
          <Group key={f.id} justify="space-between" wrap="nowrap" gap="xs">
            <Stack gap={0} style={{ minWidth: 0 }}>
              <Group gap={6} wrap="nowrap">
                <Text size="sm" truncate>
                  {f.name}
                </Text>
                {f.status !== 'stored' && (
                  <Badge size="xs" color={STATUS_COLOR[f.status]} variant="light">
                    {f.status}
                  </Badge>
                )}
              </Group>
              <Text size="xs" c="dimmed">
                {f.rejection
                  ? f.rejection.reason
                  : `${formatSize(f.size)} · ${formatDate(f.created_at, true)}`}
              </Text>
            </Stack>
            <Group gap={4} wrap="nowrap">
              {f.status === 'stored' && (
                <Tooltip label="Download">
                  <ActionIcon
                    variant="subtle"
                    aria-label={`Download ${f.name}`}
                    onClick={() => download(f.id).catch((e) => setError(e))}
                  >
                    <IconDownload size={16} />
                  </ActionIcon>
                </Tooltip>
              )}
              {canEdit && (me?.role === 'admin' || f.uploaded_by === me?.user.id) && (
                <Tooltip label="Delete">
                  <ActionIcon
                    variant="subtle"
                    color="red"
                    aria-label={`Delete ${f.name}`}
                    loading={remove.isPending && remove.variables === f.id}
                    onClick={() => remove.mutate(f.id)}
                  >
                    <IconTrash size={16} />
                  </ActionIcon>
                </Tooltip>
              )}
            </Group>
          </Group>
        ))}
      </Stack>
    </Section>
  );
}
