import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

/**
 * Keeps the inbox live while it is open: the server pushes an `inbox` event (server-sent events,
 * `/api/v1/conversations/stream`) when a message arrives, is queued, sent or fails, or a delivery
 * status or a conversation changes; the unread badge takes the pushed counts and the lists and
 * threads are read again. EventSource reconnects by itself after a drop.
 * @returns whether the stream is connected (the lists poll while it is not)
 */
export function useLiveInbox(): boolean {
  const queryClient = useQueryClient();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/v1/conversations/stream');
    let first = true;
    source.addEventListener('inbox', (e) => {
      const counts = JSON.parse((e as MessageEvent<string>).data) as {
        messages: number;
        conversations: number;
      };
      queryClient.setQueryData(['conversations', 'unread'], counts);
      // The first event is the state at connection time: what is on screen is already fresh.
      if (first) {
        first = false;
        return;
      }
      void queryClient.invalidateQueries({ queryKey: ['conversations', 'list'] });
      void queryClient.invalidateQueries({ queryKey: ['conversations', 'thread'] });
    });
    source.onopen = () => setLive(true);
    source.onerror = () => {
      setLive(false);
      first = true;
    };
    return () => source.close();
  }, [queryClient]);
  return live;
}
